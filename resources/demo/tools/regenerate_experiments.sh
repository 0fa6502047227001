#!/usr/bin/env bash
# Recreates resources/demo/experiments/ (the bundled finished runs) byte for byte.
#
# What makes the output deterministic:
#   - every run uses the simulated clock (EXPDESK_DEMO_FAKE_CLOCK), so folder
#     names, started_at, metrics timestamps and log times are fixed;
#   - runs happen in a throw-away copy of the demo outside any git repository,
#     so get_git_info() takes the seed's fallback ("unknown", dirty=true);
#   - hostname and python_version in metadata.json are pinned
#     (EXPDESK_DEMO_METADATA_OVERRIDES);
#   - train.py is started through runpy with the relative name "train.py", so
#     the traceback in FAILED.txt names "train.py" rather than a temp path;
#   - step delay 0 comes from the environment, so the recorded command is the
#     plain one a user would type (e.g. "train.py configs/base.yaml --seed 7").
# The traceback layout in FAILED.txt depends on the Python minor version
# (these files were made with Python 3.11).
set -euo pipefail

DEMO_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/expdesk-demo-regen.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

cp "$DEMO_DIR/train.py" "$WORK/"
cp -R "$DEMO_DIR/configs" "$WORK/configs"
cd "$WORK"

unset EXPDESK_EXPERIMENT_DIR EXPDESK_CONFIG EXPDESK_SEED GIT_DIR GIT_WORK_TREE
export GIT_CEILING_DIRECTORIES="$(dirname "$WORK")"
export EXPDESK_DEMO_STEP_DELAY=0
export EXPDESK_DEMO_METADATA_OVERRIDES='{"hostname": "demo-workstation", "python_version": "3.11.7 (main, Dec  8 2023, 18:56:58) [GCC 11.4.0]"}'
export PYTHONHASHSEED=0

# run CLOCK EXPECTED_EXIT ARGS...
run() {
  local clock="$1" expected="$2"
  shift 2
  local rc=0
  EXPDESK_DEMO_FAKE_CLOCK="$clock" python3 -c '
import runpy, sys
sys.argv[0] = "train.py"
runpy.run_path("train.py", run_name="__main__")
' "$@" >"$WORK/last.out" 2>"$WORK/last.err" || rc=$?
  if [ "$rc" != "$expected" ]; then
    echo "train.py $* exited with $rc (expected $expected)" >&2
    cat "$WORK/last.err" >&2
    exit 1
  fi
  echo "ok (exit $rc): train.py $*"
}

run 2024-11-24T09:30:00 0 configs/base.yaml
run 2024-11-24T10:15:00 0 configs/dpo_beta0.05.yaml --seed 7
run 2024-11-24T11:00:00 0 configs/ppo.yaml
run 2024-11-24T11:45:00 1 configs/base.yaml --seed 3 --fail-at-step 137

rm -rf "$DEMO_DIR/experiments"
cp -R "$WORK/experiments" "$DEMO_DIR/experiments"
echo "wrote $(find "$DEMO_DIR/experiments" -type f | wc -l) files," \
  "$(du -sk "$DEMO_DIR/experiments" | cut -f1) KB to $DEMO_DIR/experiments"
