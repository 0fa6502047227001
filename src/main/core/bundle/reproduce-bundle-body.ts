/**
 * The script's fixed part: bash inside a template literal, so every `${` is
 * written `\${`, every backslash doubled and backticks escaped; nothing is
 * interpolated here. Tests run it (tests/unit/main/core/bundle) and `bash -n` it.
 */
export const BODY = `# --- How it works ------------------------------------------------------------
# Every check that can fail runs before anything is created; once the command
# starts, its folder stays (it holds the log). Progress goes to stderr; stdout
# gets one line, the new experiment folder, so scripts can take \`tail -n 1\`.

HERE="$(cd "$(dirname "\${BASH_SOURCE[0]}")" && pwd)"
say() { printf 'reproduce.sh: %s\\n' "$*" >&2; }
die() {
  printf 'reproduce.sh: error: %s\\n' "$*" >&2
  exit 1
}

usage() {
  cat <<EOF
Run $NAME again from this bundle alone: lay out the source at commit
\${GIT_HASH:0:12}, apply the uncommitted changes recorded at launch, install
the recorded packages, and run the recorded command on the frozen config with
the recorded seed, into a new experiment folder (printed on the last line).

Usage: bash reproduce.sh [OPTIONS] [-- COMMAND...]

  --python PATH   use this interpreter as it is, with no virtual environment;
                  every package whose version differs from requirements.txt
                  is reported (default: a new venv, pip install -r requirements.txt)
  --venv DIR      where the virtual environment goes (default: $HERE/venv;
                  reused when it exists)
  --out DIR       folder that receives the new experiment folder
                  (default: $HERE/reproduced)
  --workdir DIR   folder that receives the laid-out source
                  (default: $HERE/work/<new experiment name>)
  --source DIR    a copy of the project at commit \${GIT_HASH:0:12}, when this
                  bundle has none (it is copied, never changed)
  -- COMMAND...   run this instead of the recorded command; {config} becomes
                  the frozen config's path, {seed} the seed
  -h, --help      this text
EOF
}

PYTHON_ARG=""
OUT="$HERE/reproduced"
WORKDIR_ARG=""
SOURCE_ARG=""
VENV="$HERE/venv"
USER_COMMAND=()
need_value() { [ "$2" -ge 2 ] || die "$1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --python) need_value "$1" $#; PYTHON_ARG="$2"; shift 2 ;;
    --python=*) PYTHON_ARG="\${1#*=}"; shift ;;
    --venv) need_value "$1" $#; VENV="$2"; shift 2 ;;
    --venv=*) VENV="\${1#*=}"; shift ;;
    --out) need_value "$1" $#; OUT="$2"; shift 2 ;;
    --out=*) OUT="\${1#*=}"; shift ;;
    --workdir) need_value "$1" $#; WORKDIR_ARG="$2"; shift 2 ;;
    --workdir=*) WORKDIR_ARG="\${1#*=}"; shift ;;
    --source) need_value "$1" $#; SOURCE_ARG="$2"; shift 2 ;;
    --source=*) SOURCE_ARG="\${1#*=}"; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; USER_COMMAND=("$@"); break ;;
    *) die "unknown argument $1 (see bash reproduce.sh --help)" ;;
  esac
done

# 1. The command ---------------------------------------------------------------
if [ \${#USER_COMMAND[@]} -gt 0 ]; then
  COMMAND=("\${USER_COMMAND[@]}")
fi
if [ \${#COMMAND[@]} -eq 0 ]; then
  die "this run did not record the command that trained it\${RECORDED_COMMAND:+ (its metadata.json says only: $RECORDED_COMMAND)}. Give the command after --, with {config} where the config file goes and {seed} for the seed, e.g.: bash reproduce.sh -- python train.py --config {config}"
fi
for word in "\${COMMAND[@]}"; do
  case "$word" in
    *'{seed}'*) [ -n "$SEED" ] || die "the command uses {seed} but this run recorded no seed" ;;
  esac
done

# 2. Python --------------------------------------------------------------------
if [ -n "$PYTHON_ARG" ]; then
  case "$PYTHON_ARG" in
    */*) BASE_PY="$PYTHON_ARG" ;;
    *) BASE_PY="$(command -v -- "$PYTHON_ARG" || true)" ;;
  esac
  [ -n "$BASE_PY" ] && [ -x "$BASE_PY" ] && [ ! -d "$BASE_PY" ] || die "--python $PYTHON_ARG: no such interpreter"
else
  BASE_PY="$(command -v python3 || command -v python || true)"
  [ -n "$BASE_PY" ] || die "no Python found on PATH: install Python 3 (Debian/Ubuntu: apt install python3 python3-venv), or pass --python PATH"
fi
"$BASE_PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 6) else 1)' >/dev/null 2>&1 ||
  die "$BASE_PY is not a working Python 3.6 or newer"

# 3. The source ----------------------------------------------------------------
if [ -n "$SOURCE_ARG" ]; then
  [ -d "$SOURCE_ARG" ] || die "--source $SOURCE_ARG is not a folder"
  SRC="$(cd "$SOURCE_ARG" && pwd)"
elif [ "$HAS_SOURCE" = 1 ]; then
  SRC="$HERE/source"
  [ -d "$SRC" ] || die "$SRC is missing: unpack the whole bundle (source/ included)"
else
  die "this bundle holds no source tree: $SOURCE_MISSING_REASON. Pass --source DIR with a copy of the project at commit $GIT_HASH (it is copied, never changed)."
fi
MISSING=()
for f in \${SOURCE_OMITTED[@]+"\${SOURCE_OMITTED[@]}"}; do
  [ -e "$SRC/$f" ] || MISSING+=("$f")
done
if [ \${#MISSING[@]} -gt 0 ]; then
  die "these files of commit \${GIT_HASH:0:12} were too large for the bundle and are not in $SRC: \${MISSING[*]}. Copy them there from the project (same paths), or pass --source DIR."
fi
if [ "$PATCH_COMPLETE" != 1 ]; then
  say "warning: the uncommitted changes were not recorded in full at launch (\${PATCH_OMITTED[*]:-see metadata.json and README.md}); the reproduction may differ"
fi

# 4. The uncommitted changes: check they apply before anything is created --------
PATCH="$HERE/uncommitted.patch"
APPLY=""
if [ "$HAS_PATCH" = 1 ]; then
  [ -f "$PATCH" ] || die "uncommitted.patch is missing from $HERE: unpack the whole bundle"
  if command -v git >/dev/null 2>&1; then
    APPLY=git
  elif command -v patch >/dev/null 2>&1; then
    if grep -q '^GIT binary patch' "$PATCH"; then
      die "the uncommitted changes include binary files, which only git can apply: install git"
    fi
    APPLY=patch
  else
    die "the run had uncommitted changes (uncommitted.patch) but neither git nor patch is installed: install one of them"
  fi
fi
apply_patch() { # DIR [check]
  if [ "$APPLY" = git ]; then
    # GIT_CEILING_DIRECTORIES: DIR is no repository of its own; without the
    # ceiling git would find one in a folder above and apply relative to it.
    (cd "$1" && GIT_CEILING_DIRECTORIES="$(dirname "$1")" git apply \${2:+--check} --whitespace=nowarn "$PATCH")
  else
    patch -d "$1" -p1 --batch --forward --silent \${2:+--dry-run} <"$PATCH"
  fi
}
if [ -n "$APPLY" ]; then
  apply_patch "$SRC" check >&2 ||
    die "uncommitted.patch does not apply to the source tree of commit \${GIT_HASH:0:12} in $SRC (with $APPLY); nothing was created"
fi

# 5. The environment -----------------------------------------------------------
REQS="$HERE/requirements.txt"
[ -f "$REQS" ] || REQS=""
if [ -n "$PYTHON_ARG" ]; then
  PY="$BASE_PY"
  say "using $PY as it is (no virtual environment)"
  if [ -n "$REQS" ]; then
    "$PY" - "$REQS" compare <<'PYTHON' >&2 || say "warning: could not compare the installed packages with requirements.txt"
# Reports every package whose installed version differs from requirements.txt.
# importlib.metadata rather than pip: it is there even where pip is not.
import re, sys
try:
    from importlib import metadata
except ImportError:
    print("reproduce.sh: Python < 3.8 cannot list its packages; requirements.txt was not compared")
    sys.exit(0)

def norm(name):
    return re.sub(r"[-_.]+", "-", name).lower()

installed = {}
for dist in metadata.distributions():
    name = dist.metadata["Name"]
    if name:
        installed.setdefault(norm(name), dist.version)
differ, unchecked = [], []
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    for raw in f:
        line = re.sub(r"(^|\\s)#.*$", "", raw).strip()
        if not line or line.startswith("-"):
            if line:
                unchecked.append(line)
            continue
        spec = line.split(";", 1)[0].strip()
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)\\s*(\\[[^\\]]*\\])?\\s*(===?|@)\\s*(\\S.*)$", spec)
        if not m:
            unchecked.append(line)
            continue
        name, op, want = m.group(1), m.group(3), m.group(4).strip()
        have = installed.get(norm(name))
        if have is None:
            differ.append("  %s: recorded %s, not installed" % (name, want if op != "@" else "from " + want))
        elif op != "@" and have != want:
            differ.append("  %s: recorded %s, installed %s" % (name, want, have))
if differ:
    print("reproduce.sh: %d package(s) differ from requirements.txt:" % len(differ))
    print("\\n".join(differ))
else:
    print("reproduce.sh: every package in requirements.txt is installed at its recorded version")
if unchecked:
    print("reproduce.sh: not compared (not name==version): " + "; ".join(unchecked))
PYTHON
  fi
else
  if [ ! -x "$VENV/bin/python" ]; then
    say "creating a virtual environment in $VENV"
    "$BASE_PY" -m venv "$VENV" >&2 ||
      die "could not create a virtual environment with $BASE_PY (Debian/Ubuntu: apt install python3-venv), or pass --python PATH to use an interpreter that has the packages"
  fi
  PY="$VENV/bin/python"
  if [ -n "$REQS" ]; then
    INSTALLABLE="$(mktemp)"
    "$PY" - "$REQS" "$INSTALLABLE" <<'PYTHON' >&2 || die "could not read requirements.txt"
# pip freeze also lists what came from this machine's disk (the project itself
# installed with -e, conda's "pkg @ file:///..."): those cannot be installed
# elsewhere, so they are left out, and said so.
import re, sys
kept, dropped = [], []
with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
    for raw in f:
        line = raw.strip()
        if re.match(r"^(-e|--editable)\\s", line) or re.search(r"@\\s*file:", line):
            dropped.append(line)
        else:
            kept.append(raw.rstrip("\\n"))
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write("\\n".join(kept) + "\\n")
for line in dropped:
    print("reproduce.sh: not installed (it came from the original machine's disk): " + line)
PYTHON
    [ -s "$INSTALLABLE" ] || die "could not read requirements.txt"
    say "installing requirements.txt into $VENV"
    "$PY" -m pip install --disable-pip-version-check -r "$INSTALLABLE" >&2 ||
      die "pip could not install requirements.txt into $VENV (no network? a version no longer published?). Fix that, or pass --python PATH to use an interpreter that has the packages"
    rm -f "$INSTALLABLE"
  fi
  export VIRTUAL_ENV="$VENV"
fi
# Commands such as torchrun or accelerate are looked up beside the interpreter first.
PATH="$(dirname "$PY"):$PATH"
export PATH
if [ -n "$RECORDED_PYTHON" ]; then
  HAVE_PY="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
  case "$RECORDED_PYTHON" in
    "$HAVE_PY" | "$HAVE_PY".*) ;;
    *) say "warning: the run used Python $RECORDED_PYTHON, this is Python $HAVE_PY; the numbers may differ" ;;
  esac
fi

# 6. The new experiment folder ---------------------------------------------------
mkdir -p "$OUT" || die "cannot create $OUT"
OUT="$(cd "$OUT" && pwd)"
NEW_NAME="\${NAME}_repro_$(date +%Y%m%d_%H%M%S)"
EXP="$OUT/$NEW_NAME"
n=2
until mkdir "$EXP" 2>/dev/null; do
  [ -e "$EXP" ] || die "cannot create $EXP"
  EXP="$OUT/\${NEW_NAME}_$n"
  n=$((n + 1))
done
NEW_NAME="$(basename "$EXP")"
WORK="\${WORKDIR_ARG:-$HERE/work/$NEW_NAME}"
STARTED=0
cleanup() {
  # Until the command starts, a failure leaves nothing behind.
  if [ "$STARTED" = 0 ]; then
    rm -rf -- "$EXP"
    [ -z "$WORKDIR_ARG" ] && rm -rf -- "$WORK"
  fi
  return 0
}
trap cleanup EXIT
mkdir "$EXP/logs" "$EXP/checkpoints" "$EXP/outputs"

say "laying out the source in $WORK"
mkdir -p "$WORK" || die "cannot create $WORK"
WORK="$(cd "$WORK" && pwd)"
cp -a "$SRC/." "$WORK/" || die "could not copy the source to $WORK"
if [ -n "$APPLY" ]; then
  apply_patch "$WORK" >&2 || die "uncommitted.patch did not apply in $WORK"
fi
RUN_DIR="$WORK"
[ "$REL_CWD" = . ] || RUN_DIR="$WORK/$REL_CWD"
[ -d "$RUN_DIR" ] || die "the command's folder ($REL_CWD) is not in the source tree"

# The frozen config, with experiment.name and experiment.output_dir pointing at
# the new folder (a seed-style script writes wherever output_dir says).
"$PY" - "$HERE/config.yaml" "$EXP/config.yaml" "$NEW_NAME" "$EXP" <<'PYTHON' || die "could not write $EXP/config.yaml"
# A line edit, not a YAML library: the bundle must run where PyYAML is not
# installed, and the frozen config is plain block YAML (Expdesk's emitter or
# PyYAML's dump), where experiment: is a top-level block of "key: value" lines.
import json, re, sys
src, dst, name, out_dir = sys.argv[1:5]
with open(src, encoding="utf-8") as f:
    lines = f.read().splitlines(True)
if lines and not lines[-1].endswith("\\n"):
    lines[-1] += "\\n"
want = {"name": json.dumps(name, ensure_ascii=False), "output_dir": json.dumps(out_dir, ensure_ascii=False)}
start = next((i for i, l in enumerate(lines) if re.match(r"^experiment:\\s*(#.*)?$", l)), None)
if start is None:
    if any(re.match(r"^experiment\\s*:", l) for l in lines):
        sys.exit("reproduce.sh: experiment: in config.yaml is not a block mapping; cannot point it at the new folder")
    lines += ["experiment:\\n"] + ["  %s: %s\\n" % (k, v) for k, v in want.items()]
else:
    end, indent = start + 1, None
    while end < len(lines):
        l = lines[end]
        if l.strip() == "" or l.lstrip().startswith("#"):
            end += 1
            continue
        if not l[0].isspace():
            break
        if indent is None:
            indent = l[: len(l) - len(l.lstrip())]
        end += 1
    indent = indent or "  "
    found = set()
    for i in range(start + 1, end):
        m = re.match(r"^" + re.escape(indent) + r"(name|output_dir):(\\s.*)?$", lines[i].rstrip("\\n"))
        if m:
            nxt = lines[i + 1] if i + 1 < end else ""
            if (m.group(2) or "").strip() in ("", "|", ">") and nxt.startswith(indent + " "):
                sys.exit("reproduce.sh: experiment.%s in config.yaml spans several lines; cannot rewrite it" % m.group(1))
            lines[i] = "%s%s: %s\\n" % (indent, m.group(1), want[m.group(1)])
            found.add(m.group(1))
    missing = ["%s%s: %s\\n" % (indent, k, v) for k, v in want.items() if k not in found]
    lines[start + 1 : start + 1] = missing
text = "".join(lines)
try:
    import yaml  # a check where PyYAML happens to be installed
    loaded = yaml.safe_load(text)["experiment"]
    assert loaded["name"] == name and loaded["output_dir"] == out_dir
except ImportError:
    pass
with open(dst, "w", encoding="utf-8") as f:
    f.write(text)
PYTHON

# The command: {config} and {seed} filled in; a python in first place is this
# interpreter (the venv's, or --python).
ARGV=()
for word in "\${COMMAND[@]}"; do
  word=\${word//"{config}"/"$EXP/config.yaml"}
  word=\${word//"{seed}"/"$SEED"}
  ARGV+=("$word")
done
PY_RE='(^|/)python[0-9.]*$'
if [[ \${ARGV[0]} =~ $PY_RE ]]; then
  ARGV[0]="$PY"
fi

# metadata.json in the seed's form, saying where the run came from.
"$PY" - "$HERE/metadata.json" "$EXP" "$NEW_NAME" "$HERE" "$SEED" "$RUN_DIR" -- "\${ARGV[@]}" <<'PYTHON' || die "could not write $EXP/metadata.json"
import datetime, json, os, shlex, socket, sys
src, exp, name, bundle, seed, run_dir = sys.argv[1:7]
argv = sys.argv[8:]
try:
    with open(src, encoding="utf-8") as f:
        orig = json.load(f)
except Exception:
    orig = {}
try:
    import torch
    torch_version, cuda_version = torch.__version__, torch.version.cuda or "N/A"
except Exception:
    torch_version, cuda_version = "not installed", "N/A"
meta = {
    "name": name,
    "started_at": datetime.datetime.now().isoformat(),
    "git_hash": orig.get("git_hash", "unknown"),
    "git_branch": orig.get("git_branch", "unknown"),
    "git_dirty": orig.get("git_dirty", True),
    "python_version": sys.version,
    "torch_version": torch_version,
    "cuda_version": cuda_version,
    "hostname": socket.gethostname(),
    "command": " ".join(shlex.quote(a) for a in argv),
    "seed": int(seed) if seed else None,
    "command_argv": argv,
    "cwd": run_dir,
    "python_executable": sys.executable,
    "reproduced_from": {
        "name": orig.get("name"),
        "bundle": bundle,
        "started_at": orig.get("started_at"),
        "hostname": orig.get("hostname"),
        "git_hash": orig.get("git_hash"),
    },
}
with open(os.path.join(exp, "metadata.json"), "w", encoding="utf-8") as f:
    json.dump(meta, f, indent=2)
    f.write("\\n")
try:
    from importlib import metadata as md
    pkgs = sorted({"%s==%s" % (d.metadata["Name"], d.version) for d in md.distributions() if d.metadata["Name"]}, key=str.lower)
    with open(os.path.join(exp, "requirements.txt"), "w", encoding="utf-8") as f:
        f.write("".join(p + "\\n" for p in pkgs))
except Exception:
    pass
PYTHON

# 7. Run -----------------------------------------------------------------------
export EXPDESK_EXPERIMENT_DIR="$EXP" EXPDESK_CONFIG="$EXP/config.yaml" PYTHONUNBUFFERED=1
if [ -n "$SEED" ]; then export EXPDESK_SEED="$SEED"; fi
for kv in \${RECORDED_ENV[@]+"\${RECORDED_ENV[@]}"}; do
  key="\${kv%%=*}"
  if [ -n "\${!key+x}" ] && [ "\${!key}" != "\${kv#*=}" ]; then
    say "note: $key is \${!key} here; the run had \${kv#*=}, which is used"
  fi
  export "\${kv?}"
done
say "running in $RUN_DIR: \${ARGV[*]}"
say "output: $EXP (its log: logs/train.log)"
STARTED=1
set +e
(cd "$RUN_DIR" && exec "\${ARGV[@]}") 2>&1 | tee -a "$EXP/logs/train.log" >&2
rc=\${PIPESTATUS[0]}
set -e
if [ "$rc" -ne 0 ]; then
  say "the command failed with exit code $rc; its output is in $EXP/logs/train.log"
  if [ ! -e "$EXP/FAILED.txt" ]; then
    # The seed's failure record, so its tools (and Expdesk) see the failure.
    "$PY" - "$EXP" "$rc" <<'PYTHON' || true
import json, os, sys
exp, rc = sys.argv[1], sys.argv[2]
step = 0
try:
    with open(os.path.join(exp, "logs", "metrics.jsonl"), encoding="utf-8") as f:
        for line in f:
            try:
                step = json.loads(line).get("step", step)
            except Exception:
                pass
except OSError:
    pass
tail = ""
try:
    with open(os.path.join(exp, "logs", "train.log"), encoding="utf-8", errors="replace") as f:
        tail = "".join(f.readlines()[-40:])
except OSError:
    pass
with open(os.path.join(exp, "FAILED.txt"), "w", encoding="utf-8") as f:
    f.write("Failed at step %s\\n" % step)
    f.write("reproduce.sh: the command exited with code %s; the end of its log:\\n%s" % (rc, tail))
PYTHON
  fi
else
  say "done. Compare with the original: expdesk verify \\"$HERE\\" \\"$EXP\\""
fi
printf '%s\\n' "$EXP"
exit "$rc"
`;
