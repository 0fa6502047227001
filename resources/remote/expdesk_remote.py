"""Expdesk's remote helper: the far end of a remote workspace.

Sent over SSH with every command (`python3 -c <this file, compressed>`), it
is never installed on the remote machine. The request is one JSON object on
stdin; the answer goes to stdout after a marker line, so anything a login
script prints before it is skipped. Python 3.6+ standard library only.

Operations:
  gather  discover a workspace (the same rules as src/main/core/workspace/
          discover.ts) and return, per experiment, the small files, stat
          signatures and the metrics.jsonl bytes after the offset the client
          already has: one round trip for a whole listing.
  read    bytes of one file from an offset (tails, file views).
  follow  stream a log's new bytes with their offsets, and the run's status,
          until the client closes stdin.
  prepare create the experiment folder atomically and capture git state and
          patch, the interpreter, pip freeze, conda and the machine.
  start   write the run's files, then start the run wrapper in tmux (or, where
          tmux is missing, in a detached session of its own).
  stop    ask a run's wrapper to stop and wait for the end.
  pack    a tar of what a bundle takes from an experiment, plus a git pack.
  tail    the bytes appended to metrics files since the client's copy (local
          mirrors for charts and verify), several files in one round trip.
  file    one file of an experiment, confined to the experiment folder (file views).
  configs list the project's config files; config_read / config_write read and
          save one (atomically), confined to the project and never inside an
          experiment (the rules of src/main/core/configs/config-files.ts).
  run_files  a TensorBoard or MLflow run's metric files after the client's copy
          (gather sends them with the listing too): decoded by the client.
  annotate   read, or write atomically, experiments' expdesk_notes.json.
  ops     the operations this helper implements (the parity tests check them
          against src/main/core/remote/protocol.ts).

Every request carries the protocol version `v` and every answer (and the
follow stream's hello frame) carries this helper's, PROTOCOL_VERSION below:
the two sides refuse each other when they differ. The shapes of the requests
and answers are declared in src/main/core/remote/protocol.ts.
"""
import base64
import errno
import hashlib
import io
import json
import os
import re
import stat as stat_mod
import sys
import time
import zlib

MARKER = b"\n--expdesk-remote-1--\n"
PROTOCOL_VERSION = 5  # PROTOCOL_VERSION in src/main/core/remote/protocol.ts
SMALL = {
    "config": "config.yaml",
    "metadata": "metadata.json",
    "failed": "FAILED.txt",
    "status": "expdesk_status.json",
    "final": os.path.join("checkpoints", "final"),
    "annotations": "expdesk_notes.json",
}
TEXT_KEYS = ("config", "metadata", "failed", "status", "annotations")
MARKERS = ("config.yaml", "metadata.json", os.path.join("logs", "metrics.jsonl"))
METRICS = os.path.join("logs", "metrics.jsonl")
# The run wrapper's samples of the machine (resources/runner/expdesk_system.py): shipped as bytes
# like metrics.jsonl, so the client's one summary (src/shared/system-metrics.ts) reads them.
SYSTEM = os.path.join("logs", "system.jsonl")
SYSTEM_NODE_FILE = re.compile(r"^system-([A-Za-z0-9._-]+)\.jsonl$")
SLURM_TASK_LOG = re.compile(r"^slurm-\d+(?:_\d+)?-\d+\.out$")
ACTIVITY = (METRICS, os.path.join("logs", "train.log"), os.path.join("logs", "train_rank0.log"))
SKIP = {"node_modules", ".git", "checkpoints", "logs", "outputs", "__pycache__", "wandb"}
MAX_SMALL = 16 * 1024 * 1024
FINGERPRINT_BYTES = 64


class Fail(Exception):
    def __init__(self, code, message):
        Exception.__init__(self, message)
        self.code = code
        self.message = message


def hostname():
    """socket.gethostname()'s answer (both are the kernel's node name) without importing socket,
    which with subprocess, tempfile, platform and the like costs a listing ~50 ms of start-up:
    those are imported by the operations that use them."""
    return os.uname()[1]


def b64(data):
    return base64.b64encode(data).decode("ascii")


# Bulk bytes (metrics files, run files) travel raw after their frame's JSON, not as base64 inside
# it: the JSON holds {"$b": [offset, length]} into them, counted from the end of its line
# (see Answer; remote-python.ts resolves them).
BLOBS = []
BLOB_SIZE = [0]


def blob(data):
    ref = {"$b": [BLOB_SIZE[0], len(data)]}
    BLOBS.append(data)
    BLOB_SIZE[0] += len(data)
    return ref


def take_blobs():
    taken = BLOBS[:]
    del BLOBS[:]
    BLOB_SIZE[0] = 0
    return taken


class Answer(object):
    """The answer on stdout: MARKER, then one zlib stream of frames. An item frame (one experiment
    of a gather) is `<n> <json>\n` and its n bytes of blobs; the last frame is the envelope's JSON
    line `{"v": ..., ...}\n` and its blobs, to the end. Items are flushed as they are made (every
    32 kB, or 50 ms), so the client takes the first experiments while the rest are read here."""

    FLUSH_BYTES = 32 << 10
    FLUSH_S = 0.05

    def __init__(self, out):
        self.out = out
        self.z = None
        self.unflushed = 0
        self.flushed_at = time.monotonic()

    def _write(self, data):
        if self.z is None:
            self.out.write(MARKER)
            # Level 1: a third of level 6's time on a listing's metrics (0.25 s against 0.73 s for
            # 7.7 MB of JSON on a busy machine) for a fifth more bytes, which a link moves faster.
            self.z = zlib.compressobj(1)
        self.out.write(self.z.compress(data))
        self.unflushed += len(data)

    def item(self, obj):
        blobs = take_blobs()
        n = sum(len(b) for b in blobs)
        self._write(b"%d " % n + json.dumps(obj, separators=(",", ":")).encode("utf-8") + b"\n")
        for b in blobs:
            self._write(b)
        if self.unflushed >= self.FLUSH_BYTES or time.monotonic() - self.flushed_at >= self.FLUSH_S:
            self.out.write(self.z.flush(zlib.Z_SYNC_FLUSH))
            self.out.flush()
            self.unflushed = 0
            self.flushed_at = time.monotonic()

    def finish(self, body):
        # json.dumps escapes every newline: the line is the envelope, the rest its blobs.
        self._write(json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\n")
        for b in take_blobs():
            self._write(b)
        self.out.write(self.z.flush())
        self.out.flush()


ANSWER = [None]


def emit(item):
    """Send one item of the answer now (a gather's experiment) rather than in the envelope."""
    ANSWER[0].item(item)


def sig(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return [st.st_size, st.st_mtime_ns / 1e6, st.st_ino]


def resolve(p):
    return os.path.abspath(os.path.expanduser(p or "~"))


# --- reading files (mirrors src/main/core/fs/safe-read.ts) ------------------


class NotRegular(OSError):
    """A FIFO, socket, device or folder where a file was expected: never read."""

    def __init__(self, message):
        OSError.__init__(self, message)
        self.message = message
        self.strerror = message


def kind_of(mode):
    if stat_mod.S_ISFIFO(mode):
        return "a FIFO"
    if stat_mod.S_ISSOCK(mode):
        return "a socket"
    if stat_mod.S_ISCHR(mode):
        return "a character device"
    if stat_mod.S_ISBLK(mode):
        return "a block device"
    if stat_mod.S_ISDIR(mode):
        return "a folder"
    return None


def open_regular(path, label=None, nofollow=False):
    """Open a regular file for reading: O_NONBLOCK, so a FIFO never blocks the open, and the
    opened descriptor's fstat must say regular (checking the path first would race a swap).
    Returns (file, stat); raises NotRegular naming the file, or the OSError."""
    name = label or path
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    if nofollow:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
    except OSError as e:
        if e.errno == errno.ENXIO:
            raise NotRegular("%s is a socket, not a regular file" % name)
        if nofollow and e.errno == errno.ELOOP:
            raise NotRegular("%s is a symbolic link, not followed" % name)
        raise
    try:
        st = os.fstat(fd)
        if not stat_mod.S_ISREG(st.st_mode):
            kind = kind_of(st.st_mode)
            raise NotRegular("%s is %s, not a regular file" % (name, kind) if kind else "%s is not a regular file" % name)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def read_regular(path, limit, label=None):
    """A regular file's bytes, whole, at most `limit` (a larger one raises Fail)."""
    f, st = open_regular(path, label)
    with f:
        if st.st_size > limit:
            raise Fail("bad-request", "%s is %d bytes: too large to read (limit %d)" % (label or path, st.st_size, limit))
        data = f.read(limit + 1)
    if len(data) > limit:
        raise Fail("bad-request", "%s is %d bytes: too large to read (limit %d)" % (label or path, len(data), limit))
    return data


def why(e):
    """An OSError in the words the TypeScript side uses."""
    if isinstance(e, NotRegular):
        return e.message
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return e.strerror or str(e)


def read_status_json(path):
    """A status file's JSON (1 MiB at most), or None when missing, not regular, unreadable or bad."""
    try:
        return json.loads(read_regular(path, 1 << 20).decode("utf-8", "replace"))
    except (OSError, ValueError, Fail):
        return None


# --- discovery (mirrors discover.ts) ---------------------------------------


def other_run(d):
    """'tfevents' for a folder directly holding event files (TensorBoard's rule), 'mlflow' for an
    MLflow file-store run (meta.yaml beside metrics/), else None (discover.ts's rules)."""
    try:
        with os.scandir(d) as it:
            entries = list(it)
    except OSError:
        return None
    if any(e.name.startswith("events.out.tfevents.") and not e.is_dir(follow_symlinks=False) for e in entries):
        return "tfevents"
    names = set(e.name for e in entries)
    if "meta.yaml" in names and os.path.isfile(os.path.join(d, "meta.yaml")) and os.path.isdir(os.path.join(d, "metrics")):
        return "mlflow"
    return None


# --- TensorBoard and MLflow runs: their metric files as bytes (issue 12) ---------
# Decided: the helper ships the raw bytes of a run's metric files (event files, MLflow's metrics/ and
# params/) by byte offset, as it ships metrics.jsonl, and the client decodes them with its one reader
# (tfevents-tail.ts, mlflow-tail.ts) on a local mirror (remote-run-files.ts). A second decoder here
# would have to agree with that one on CRCs, damaged records, TF2 tensors and hparams forever; the
# listing's summary values come from the same mirror, so nothing here needs to decode.

RUN_FILES_DEPTH = 8  # mlflow-tail.ts's MAX_DEPTH
RUN_FILES_MAX = 10000  # mlflow-tail.ts's MAX_FILES


def run_files_under(base, rel, depth, out):
    """Regular files below base as '/'-joined relative names (mlflow-tail.ts's filesUnder: no dot names,
    no links followed, bounded in depth and count)."""
    if depth > RUN_FILES_DEPTH:
        return
    for e in list_dir(base):
        if len(out) >= RUN_FILES_MAX or e.name.startswith("."):
            continue
        r = rel + "/" + e.name if rel else e.name
        if e.is_dir(follow_symlinks=False):
            run_files_under(e.path, r, depth + 1, out)
        elif e.is_file(follow_symlinks=False):
            out.append(r)


def run_file_names(d, kind):
    """The files a run's reader reads, relative to d: the event files directly in it, or MLflow's
    meta.yaml, metrics/** and params/**. Only regular files, never a link (what the mirror holds
    stays inside the experiment folder)."""
    if kind == "tfevents":
        return sorted(e.name for e in list_dir(d)
                      if e.name.startswith("events.out.tfevents.") and e.is_file(follow_symlinks=False))
    names = ["meta.yaml"] if os.path.isfile(os.path.join(d, "meta.yaml")) and not os.path.islink(os.path.join(d, "meta.yaml")) else []
    for sub in ("metrics", "params"):
        found = []
        run_files_under(os.path.join(d, sub), "", 0, found)
        names.extend(sub + "/" + r for r in found)
    return names


def run_files(d, kind, known, budget):
    """Each run file's bytes after the client's copy ({name: [offset, ino, fingerprint]}), checked
    against the inode and the bytes before the offset as op_tail does (reset: from byte 0 again).
    Every current file is named, so the client drops the ones gone. Returns (answer, bytes used,
    the newest file's mtime in ms or None: the run's last write, as metrics-source.ts's signature says)."""
    out = []
    used = 0
    newest = None
    for name in run_file_names(d, kind):
        k = known.get(name) or [0, None, ""]
        offset, ino, fp = int(k[0] or 0), k[1], base64.b64decode(k[2] or "")
        try:
            fh, st = open_regular(os.path.join(d, *name.split("/")), name, nofollow=True)
        except OSError:
            continue  # gone, or not a regular file any more: not mirrored
        with fh:
            size = st.st_size
            reset = offset > size or (offset > 0 and ino is not None and ino != st.st_ino)
            if not reset and offset > 0 and fp:
                fh.seek(max(0, offset - len(fp)))
                reset = fh.read(len(fp)) != fp
            start = 0 if reset else offset
            fh.seek(start)
            data = fh.read(max(0, min(size - start, budget - used)))
        used += len(data)
        if name != "meta.yaml":  # metrics-source.ts's signature covers metrics/ and params/ only
            newest = max(newest or 0, st.st_mtime_ns / 1e6)
        out.append({"name": name, "size": size, "ino": st.st_ino, "start": start, "reset": reset,
                    "data": blob(data), "more": start + len(data) < size})
    return {"kind": kind, "files": out}, used, newest


def op_run_files(req):
    """run_files for several runs (a chart's or verify's mirror): one round trip."""
    per_run = int(req.get("max_bytes_per_run") or 16 << 20)
    total = int(req.get("max_total_bytes") or 64 << 20)
    out = []
    for item in req.get("runs") or []:
        d = resolve(item.get("path"))
        kind = other_run(d) if os.path.isdir(d) else None
        if not kind or os.path.exists(os.path.join(d, METRICS)):
            out.append({"path": d, "kind": None, "files": []})
            continue
        got, used, _ = run_files(d, kind, item.get("files") or {}, min(per_run, max(total, 0)))
        total -= used
        got["path"] = d
        out.append(got)
    return {"runs": out}


NOTES = "expdesk_notes.json"  # LAYOUT.annotations


def notes_item(item):
    """Read, or write atomically, one experiment's notes file (annotations.ts's rules): the name is
    fixed and opened relative to the folder's descriptor, a link or non-file at it is refused, the
    temporary file is created exclusively beside it, fsynced and renamed over it. A write carries the
    text the client based its change on (`expected`, null: no file); another text there is a conflict,
    answered with the current one, and nothing is written."""
    d = resolve(item.get("exp_dir"))
    state = experiment_state(d) if os.path.isdir(d) else "none"
    if state == "unreadable":
        raise Fail("forbidden", "cannot read %s: permission denied" % d)
    if state == "none":
        raise Fail("not-found", "%s is not an experiment" % d)
    dfd = os.open(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            st = os.stat(NOTES, dir_fd=dfd, follow_symlinks=False)
        except FileNotFoundError:
            st = None
        if st is not None and not stat_mod.S_ISREG(st.st_mode):
            raise Fail("bad-request", "%s in %s is not a regular file; not replaced" % (NOTES, d))
        current = None
        if st is not None:
            fd = os.open(NOTES, os.O_RDONLY | os.O_NOFOLLOW | getattr(os, "O_NONBLOCK", 0), dir_fd=dfd)
            with os.fdopen(fd, "rb") as f:
                if not stat_mod.S_ISREG(os.fstat(f.fileno()).st_mode):
                    raise Fail("bad-request", "%s in %s is not a regular file; not replaced" % (NOTES, d))
                current = f.read(MAX_SMALL + 1)
            if len(current) > MAX_SMALL:
                raise Fail("bad-request", "%s in %s is too large to read" % (NOTES, d))
        answer = {"exp_dir": d, "current": None if current is None else b64(current)}
        if item.get("data") is None:
            return answer
        expected = item.get("expected")
        if (None if expected is None else base64.b64decode(expected)) != current:
            answer["conflict"] = True
            return answer
        data = base64.b64decode(item["data"])
        tmp = ".%s.%s.tmp" % (NOTES, base64.b16encode(os.urandom(6)).decode().lower())
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=dfd)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, NOTES, src_dir_fd=dfd, dst_dir_fd=dfd)
        except OSError as e:
            try:
                os.unlink(tmp, dir_fd=dfd)
            except OSError:
                pass
            if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                raise Fail("forbidden", "cannot write %s in %s: %s" % (NOTES, d, e.strerror))
            raise
        answer["current"] = item["data"]
        answer["written"] = True
        return answer
    finally:
        os.close(dfd)


def op_annotate(req):
    out = []
    for item in req.get("items") or []:
        try:
            out.append(notes_item(item))
        except Fail as e:
            out.append({"exp_dir": resolve(item.get("exp_dir")), "error": [e.code, e.message]})
    return {"items": out}


def experiment_state(d):
    """'experiment', 'none', or 'unreadable' (permission denied: listed with that problem)."""
    refused = False
    for m in MARKERS:
        try:
            os.stat(os.path.join(d, m))
            return "experiment"
        except OSError as e:
            if e.errno in (errno.EACCES, errno.EPERM):
                refused = True
    if refused:
        return "unreadable"
    return "experiment" if other_run(d) else "none"


def is_experiment(d):
    return experiment_state(d) == "experiment"


def subdirs(d):
    out = []
    with os.scandir(d) as it:
        for e in it:
            # Dirent.isDirectory() in Node does not follow symlinks; neither do we.
            if e.is_dir(follow_symlinks=False) and not e.name.startswith(".") and e.name not in SKIP:
                out.append(e.name)
    return out


def experiments_under(d):
    """Experiments as relative name lists ([child] or [child, grandchild]); the client sorts them."""
    found = []
    for child in subdirs(d):
        p = os.path.join(d, child)
        if experiment_state(p) != "none":
            found.append([child])
        else:
            try:
                grand = subdirs(p)
            except OSError:
                grand = []
            for g in grand:
                if experiment_state(os.path.join(p, g)) != "none":
                    found.append([child, g])
    return found


def fs_fail(err, d):
    if err.errno == errno.ENOENT:
        return Fail("not-found", "no such folder: %s" % d)
    if err.errno in (errno.EACCES, errno.EPERM):
        return Fail("forbidden", "cannot read %s: permission denied" % d)
    if err.errno == errno.ENOTDIR:
        return Fail("bad-request", "not a folder: %s" % d)
    return Fail("bad-request", "cannot read %s: %s" % (d, err.strerror))


def discover(root):
    d = resolve(root)
    try:
        os.stat(d)
        if not os.path.isdir(d):
            raise Fail("bad-request", "not a folder: %s" % d)
        state = experiment_state(d)
        if state == "unreadable":
            raise Fail("forbidden", "cannot read %s: permission denied" % d)
        if state == "experiment":
            return {"root": d, "experimentsDir": d, "kind": "single-experiment", "rel": [[]]}
        nested = os.path.join(d, "experiments")
        if os.path.exists(nested):
            found = experiments_under(nested)
            if found:
                return {"root": d, "experimentsDir": nested, "kind": "project-root", "rel": found}
        found = experiments_under(d)
        if not found:
            raise Fail(
                "not-found",
                "%s holds no experiment (no folder with config.yaml, metadata.json, logs/metrics.jsonl or events.out.tfevents.*)"
                % d,
            )
        return {"root": d, "experimentsDir": d, "kind": "experiments-folder", "rel": found}
    except OSError as e:
        raise fs_fail(e, d)


# --- one experiment --------------------------------------------------------


def os_error(e, syscall, label):
    """A failed read, with what the client needs to word it as the local reader does: permission
    denied in the core's words, else Node's "CODE: message, syscall" (the errno's name and the call
    that failed; the client maps them)."""
    if e.errno in (errno.EACCES, errno.EPERM):
        return {"error": "cannot read %s: permission denied" % label}
    return {"error": "cannot read: %s" % e.strerror, "errno": errno.errorcode.get(e.errno), "syscall": syscall}


def read_small(path, label):
    try:
        f, st = open_regular(path, label)
    except NotRegular as e:
        return {"error": e.message}
    except OSError as e:
        if e.errno == errno.ENOENT:
            return None
        return os_error(e, "open", label)
    with f:
        if st.st_size > MAX_SMALL:
            return {"too_large": st.st_size}
        try:
            data = f.read(MAX_SMALL + 1)
        except OSError as e:
            return os_error(e, "read", label)
    if len(data) > MAX_SMALL:
        return {"too_large": len(data)}
    return {"data": b64(data)}


def pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError as e:
        return e.errno == errno.EPERM
    except (OverflowError, ValueError):
        return False  # no process can have it (Node's process.kill refuses it too: not alive)


def status_pid(st):
    """The pid of a "running" status file, as the core reads it (a JSON number that is an integer, 4.0
    included; not true/false), or None."""
    pid = st.get("pid") if isinstance(st, dict) and st.get("state") == "running" else None
    if isinstance(pid, bool) or not isinstance(pid, (int, float)) or pid != pid or pid in (float("inf"), float("-inf")):
        return None
    return int(pid) if pid == int(pid) else None


def run_liveness(d):
    """For a status file saying running: is its process alive here? (The client cannot tell.)"""
    st = read_status_json(os.path.join(d, SMALL["status"]))
    pid = status_pid(st)
    if pid is None or st.get("hostname") != hostname():
        return None
    return pid_alive(pid)


def read_metrics(d, hint, budget, key="metrics"):
    """The bytes of metrics.jsonl (key "metrics") or system.jsonl (key "system") after the client's copy.

    The hint's offset and fingerprint are the client's copy of metrics.jsonl; `system_offset` and
    `system_fingerprint` its copy of system.jsonl."""
    rel = METRICS if key == "metrics" else SYSTEM
    path = os.path.join(d, rel)
    s = sig(path)
    if s is None:
        return None
    pre = "" if key == "metrics" else key + "_"
    offset = int(hint.get(pre + "offset") or 0)
    fp = base64.b64decode(hint.get(pre + "fingerprint") or "")
    known = hint.get("sigs", {}).get(key)
    reset = False
    if known and known[2] != s[2]:
        reset = True  # another inode: the file was replaced
    elif offset > s[0]:
        reset = True
    try:
        f, _ = open_regular(path, rel)
    except NotRegular as e:
        return {"error": e.message}
    except OSError as e:
        return os_error(e, "open", rel)
    with f:
        if not reset and offset > 0 and fp:
            f.seek(offset - len(fp))
            if f.read(len(fp)) != fp:
                reset = True
        start = 0 if reset else offset
        size = os.fstat(f.fileno()).st_size
        f.seek(start)
        want = max(0, min(size - start, budget))
        data = f.read(want)
        out = {"start": start, "reset": reset, "size": size, "more": start + len(data) < size}
        if out["more"] and data and data.rfind(b"\n") < 0:
            # One line longer than the whole budget: find its end rather than ship it.
            pos = start + len(data)
            f.seek(pos)
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                nl = chunk.find(b"\n")
                if nl >= 0:
                    out["skip_to"] = pos + nl + 1
                    break
                pos += len(chunk)
            data = b""
        out["data"] = blob(data)
        return out, len(data)


def list_dir(d):
    try:
        with os.scandir(d) as it:
            return list(it)
    except OSError:
        return []


def file_size(p):
    try:
        return os.stat(p).st_size
    except OSError:
        return 0


def details(d):
    """Checkpoints, logs and outputs, as files.ts lists them (the client sorts)."""
    base = os.path.join(d, "checkpoints")
    checkpoints = [e.name for e in list_dir(base) if not e.name.startswith(".")]
    logs = []
    system_nodes = []  # shared/system-metrics.ts systemFileNode: a multi-node job's other nodes
    for e in list_dir(os.path.join(d, "logs")):
        node = SYSTEM_NODE_FILE.fullmatch(e.name)
        if node and e.is_file(follow_symlinks=False):
            system_nodes.append(node.group(1))
        # shared/rank-logs.ts's isLogName: *.log, and SLURM's per-task output (slurm-<job>-<task>.out)
        if e.is_file(follow_symlinks=False) and (e.name.endswith(".log") or SLURM_TASK_LOG.match(e.name)):
            logs.append({"name": e.name, "size": file_size(e.path)})
    outputs = []
    obase = os.path.join(d, "outputs")

    def walk(folder, kind, depth):
        for e in list_dir(folder):
            if e.name.startswith("."):
                continue
            if e.is_dir(follow_symlinks=False):
                if depth < 3:
                    walk(e.path, kind, depth + 1)
            elif e.is_file(follow_symlinks=False):
                outputs.append({"kind": kind, "rel": os.path.relpath(e.path, obase), "size": file_size(e.path)})

    for e in list_dir(obase):
        kind = "eval" if e.name == "eval" else "samples" if e.name == "samples" else "other"
        if e.is_dir(follow_symlinks=False):
            walk(e.path, kind, 1)
        elif e.is_file(follow_symlinks=False):
            outputs.append({"kind": kind, "rel": e.name, "size": file_size(e.path)})
    isfile = lambda n: os.path.isfile(os.path.join(d, n))  # noqa: E731
    return {
        "checkpoints": checkpoints,
        "logs": logs,
        "outputs": outputs,
        "has_requirements": isfile("requirements.txt"),
        "has_reproduce": isfile("reproduce.sh"),
        "system_nodes": sorted(system_nodes),
    }


def gather_one(d, hint, detail, budget):
    sigs = dict((k, sig(os.path.join(d, v))) for k, v in SMALL.items())
    sigs["metrics"] = sig(os.path.join(d, METRICS))
    known = hint.get("sigs") or {}
    texts = {}
    for k in TEXT_KEYS:
        if detail or sigs[k] is None or sigs[k] != known.get(k):
            texts[k] = read_small(os.path.join(d, SMALL[k]), SMALL[k])
    activity = [s[1] for s in (sig(os.path.join(d, a)) for a in ACTIVITY) if s]
    out = {
        "path": d,
        "sigs": sigs,
        "texts": texts,
        "last_write_ms": max(activity) if activity else None,
        "pid_alive": run_liveness(d),
    }
    used = 0
    if sigs["metrics"] is not None and (sigs["metrics"] != known.get("metrics") or hint.get("more")):
        got = read_metrics(d, hint, budget)
        if isinstance(got, tuple):
            out["metrics"], used = got
        else:
            out["metrics"] = got
    sigs["system"] = sig(os.path.join(d, SYSTEM))
    if sigs["system"] is not None and (sigs["system"] != known.get("system") or hint.get("system_more")):
        got = read_metrics(d, hint, max(0, budget - used), "system")
        if isinstance(got, tuple):
            out["system"], more = got
            used += more
        else:
            out["system"] = got
    if sigs["metrics"] is None:
        kind = other_run(d)
        if kind:
            out["other_metrics"] = kind
            out["run_files"], spent, newest = run_files(d, kind, hint.get("files") or {}, budget - used)
            used += spent
            if newest is not None:
                out["last_write_ms"] = max(out["last_write_ms"] or 0, newest)
    if detail:
        out["detail"] = details(d)
    return out, used


# A file changed this recently may change again unseen: the same size in the same clock tick.
RACY_MS = 2000
# What a listing stats of each experiment: the small files, metrics, system, the logs.
LISTED = tuple(SMALL.values()) + (METRICS, SYSTEM) + ACTIVITY[1:]


def listing_fingerprint(found, paths, now_ms):
    """A digest of what a listing of a workspace is made from (what discover found and every file it
    stats of each experiment), or None where a listing reads more than that (a run without
    logs/metrics.jsonl: its TensorBoard or MLflow files), a stat failed, or a file changed within
    RACY_MS. The client keeps its text table with it (src/cli/list-snapshot.ts)."""
    h = hashlib.sha256(json.dumps([found["root"], found["experimentsDir"], found["kind"], found["rel"]]).encode())
    for d, _ in paths:
        row = []
        for name in LISTED:
            try:
                st = os.stat(os.path.join(d, name))
            except OSError as e:
                if e.errno not in (errno.ENOENT, errno.ENOTDIR):
                    return None
                row.append(None)
                continue
            if st.st_mtime_ns / 1e6 > now_ms - RACY_MS:
                return None
            row.append([st.st_size, st.st_mtime_ns, st.st_ino])
        if row[len(SMALL)] is None:
            return None
        h.update(json.dumps(row).encode())
    return h.hexdigest()


def op_gather(req):
    hints = req.get("hints") or {}
    per_exp = int(req.get("max_bytes_per_experiment") or 32 << 20)
    total = int(req.get("max_total_bytes") or 128 << 20)
    result = {"hostname": hostname()}
    if req.get("root") is not None:
        found = discover(req["root"])
        base = found["experimentsDir"]
        result.update(root=found["root"], experimentsDir=base, kind=found["kind"])
        paths = [(os.path.join(base, *rel) if rel else base, rel) for rel in found["rel"]]
        if "kept" in req:
            # The client's kept table still holds: nothing to send but that.
            result["fingerprint"] = listing_fingerprint(found, paths, time.time() * 1000)
            if result["fingerprint"] is not None and result["fingerprint"] == req["kept"]:
                result["unchanged"] = True
                paths = []
    else:
        paths = []
        for p in req.get("experiments") or []:
            d = resolve(p)
            if not os.path.isdir(d):
                if not os.path.exists(d):
                    paths.append((d, {"error": ["not-found", "no such folder: %s" % d]}))
                else:
                    paths.append((d, {"error": ["bad-request", "not a folder: %s" % d]}))
            elif experiment_state(d) == "unreadable":
                paths.append((d, {"error": ["forbidden", "cannot read %s: permission denied" % d]}))
            elif not is_experiment(d):
                paths.append(
                    (
                        d,
                        {
                            "error": [
                                "not-found",
                                "%s is not an experiment (no config.yaml, metadata.json, logs/metrics.jsonl or events.out.tfevents.*)"
                                % d,
                            ]
                        },
                    )
                )
            else:
                paths.append((d, None))
    # Each experiment goes out as soon as it is read (emit): the client takes it while the rest are read.
    for d, extra in paths:
        if isinstance(extra, dict) and "error" in extra:
            emit({"path": d, "error": extra["error"]})
            continue
        if req.get("root") is not None and experiment_state(d) == "unreadable":
            emit({"path": d, "unreadable": "permission denied", "rel": extra})
            continue
        try:
            one, used = gather_one(d, hints.get(d) or {}, bool(req.get("detail")), min(per_exp, max(total, 0)))
            total -= used
        except OSError as e:
            take_blobs()  # what was read of it before the failure does not travel
            one = {"path": d, "unreadable": why(e)}
        if isinstance(extra, list):
            one["rel"] = extra
        emit(one)
    if req.get("discover") is not None:
        # The workspace's experiments now (a watch's look for new folders), without gathering them.
        try:
            found = discover(req["discover"])
            base = found["experimentsDir"]
            result["discovered"] = [os.path.join(base, *rel) if rel else base for rel in found["rel"]]
        except Fail as e:
            result["discover_error"] = [e.code, e.message]
    result["now_ms"] = time.time() * 1000
    return result


# --- reading and following files -------------------------------------------


def op_read(req):
    path = resolve(req["path"])
    offset = int(req.get("offset") or 0)
    limit = int(req.get("max") or 1 << 20)
    try:
        f, st = open_regular(path)
        with f:
            size = st.st_size
            if offset < 0:
                offset = max(0, size + offset)
            offset = min(offset, size)
            f.seek(offset)
            data = f.read(min(limit, size - offset))
    except OSError as e:
        if e.errno == errno.ENOENT:
            return {"missing": True, "size": 0, "offset": 0, "data": ""}
        raise Fail("bad-request", "cannot read %s: %s" % (path, why(e)) if not isinstance(e, NotRegular) else e.message)
    return {"size": size, "offset": offset, "data": b64(data)}


def log_of(exp_dir, name):
    if name:
        return os.path.join(exp_dir, "logs", name)
    for n in ("train.log", "train_rank0.log"):
        p = os.path.join(exp_dir, "logs", n)
        if os.path.exists(p):
            return p
    return os.path.join(exp_dir, "logs", "train.log")


def run_state(exp_dir):
    status = read_status_json(os.path.join(exp_dir, SMALL["status"]))
    alive = None
    pid = status_pid(status)
    if pid is not None and status.get("hostname") == hostname():
        alive = pid_alive(pid)
    activity = [s[1] for s in (sig(os.path.join(exp_dir, a)) for a in ACTIVITY) if s]
    return {
        "status": status if isinstance(status, dict) else None,
        "pid_alive": alive,
        "failed": os.path.exists(os.path.join(exp_dir, "FAILED.txt")),
        "final": os.path.exists(os.path.join(exp_dir, "checkpoints", "final")),
        "last_write_ms": max(activity) if activity else None,
    }


def status_only_req(req):
    return bool(req.get("status_only"))


def log_refusal(exp_dir, path):
    """Why a log may not be read (a link out of the experiment, not a regular file), or None.
    A log that does not exist yet is fine: it is checked again at every read."""
    if not os.path.lexists(path):
        return None
    real = os.path.realpath(path)
    if not inside(real, os.path.realpath(exp_dir)):
        return "%s leads outside its experiment folder (to %s): refused, links out are not followed" % (path, real)
    try:
        st = os.stat(real)
    except OSError:
        return None
    if not stat_mod.S_ISREG(st.st_mode):
        return "%s is not a regular file: not read" % path
    return None


def open_log(exp_dir, path):
    """The log opened for reading when log_refusal allows it; OSError otherwise (the caller skips it)."""
    why = log_refusal(exp_dir, path)
    if why:
        raise OSError(errno.EPERM, why)
    f, _ = open_regular(os.path.realpath(path), path, nofollow=True)
    return f


def op_follow(req):
    """Frames on stdout: a JSON header line, then (for data) that many raw bytes."""
    import select  # here, not at the top: a listing never needs it
    exp_dir = resolve(req["exp_dir"])
    name = req.get("file")
    offset = int(req.get("offset") or 0)
    poll = float(req.get("poll_ms") or 200) / 1000.0
    heartbeat = float(req.get("heartbeat_ms") or 2000) / 1000.0
    chunk_max = 1 << 20
    out = sys.stdout.buffer
    last_state = None
    last_sent = 0.0
    stdin = sys.stdin.buffer
    out.write(MARKER)
    problem = None
    if not os.path.isdir(exp_dir):
        problem = ("not-found", "no such folder: %s" % exp_dir)
    elif not is_experiment(exp_dir):
        problem = ("forbidden", "%s is not an experiment folder: its logs are not followed" % exp_dir)
    elif name is not None and (os.path.basename(name) != name or name in (".", "..")):
        problem = ("bad-request", "%s is not the name of a log in %s" % (name, os.path.join(exp_dir, "logs")))
    else:
        # Confined (log-tail.ts's rules): a log leading out of the experiment is refused by name.
        why = log_refusal(exp_dir, log_of(exp_dir, name))
        if why and not status_only_req(req):
            problem = ("forbidden", why)
    if problem:
        frame = {"t": "error", "code": problem[0], "message": problem[1]}
        out.write((json.dumps(frame) + "\n").encode())
        out.flush()
        return None
    path = log_of(exp_dir, name)
    if offset < 0:
        offset = max(0, file_size(path) + offset)
    hello = {"t": "hello", "v": PROTOCOL_VERSION, "file": os.path.basename(path), "offset": offset,
             "exists": os.path.exists(path),
             "exp_dir": exp_dir, "size": file_size(path)}
    status_only = bool(req.get("status_only"))
    out.write((json.dumps(hello) + "\n").encode())
    out.flush()
    while True:
        if not name and not os.path.exists(path):
            path = log_of(exp_dir, None)
        # The state before the bytes: bytes written before the end are surely sent before it.
        state = run_state(exp_dir)
        try:
            if status_only:
                raise OSError("status only")
            with open_log(exp_dir, path) as f:
                size = os.fstat(f.fileno()).st_size
                if size < offset:
                    offset = 0  # truncated: start over, as LogTail does
                    out.write(b'{"t":"reset"}\n')
                f.seek(offset)
                while offset < size:
                    data = f.read(min(chunk_max, size - offset))
                    if not data:
                        break
                    out.write((json.dumps({"t": "data", "o": offset, "n": len(data)}) + "\n").encode())
                    out.write(data)
                    offset += len(data)
        except OSError:
            pass
        now = time.time()
        if state != last_state or now - last_sent >= heartbeat:
            frame = dict(state, t="state", offset=offset, now_ms=now * 1000)
            out.write((json.dumps(frame) + "\n").encode())
            last_state = state
            last_sent = now
        out.flush()
        r, _, _ = select.select([stdin], [], [], poll)
        if r and not os.read(stdin.fileno(), 4096):
            return None  # the client went away (or closed our stdin): stop


# --- launching -------------------------------------------------------------


def run_cmd(argv, cwd=None, env=None, timeout=30):
    import subprocess  # here, not at the top: a listing never needs it
    try:
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except OSError as e:
        return False, "", str(e)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        p.kill()
        p.communicate()
        return False, "", "timed out after %d ms" % (timeout * 1000)
    return p.returncode == 0, out.decode("utf-8", "replace"), err.decode("utf-8", "replace")


# Every git call goes through safe_git_argv: the repository's own configuration
# cannot make git run a command (core.fsmonitor, hooks, the filter drivers that
# .gitattributes names, diff drivers, a pager). The same rules as
# src/main/core/capture/safe-git.ts (see there for why each one).
GIT_SAFE_CONFIG = ["core.fsmonitor=false", "core.hooksPath=/dev/null", "core.untrackedCache=false",
                   "core.pager=cat", "core.editor=false", "core.sshCommand=false", "credential.helper=",
                   "protocol.ext.allow=never", "gc.auto=0", "maintenance.auto=false", "log.showSignature=false"]
GIT_SAFE_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_PAGER": "cat", "GIT_ASKPASS": "false", "SSH_ASKPASS": "false"}
_FILTER_KEY = re.compile(r"^filter\.(.+)\.(clean|smudge|process)$")


def untrusted_driver_overrides(listing, scoped=True):
    drivers = []
    for line in listing.split("\n"):
        if scoped:
            scope, _, rest = line.partition("\t")
            if not rest or scope in ("global", "system"):
                continue
        else:
            rest = line  # a git without --show-scope: every driver is switched off
        m = _FILTER_KEY.match(rest.split(" ", 1)[0])
        if m and m.group(1) not in drivers:
            drivers.append(m.group(1))
    out = []
    for name in drivers:
        if "=" in name:
            raise RuntimeError("the repository defines a git filter named %r, which Expdesk cannot switch off; "
                               "remove it from .git/config" % name)
        out += ["filter.%s.clean=" % name, "filter.%s.smudge=" % name, "filter.%s.process=" % name,
                "filter.%s.required=false" % name]
    return out


def safe_git_env(env=None):
    return dict(env if env is not None else os.environ, **GIT_SAFE_ENV)


def safe_git_argv(cwd):
    """["git", -c overrides…] for the repository around cwd; append the command's arguments."""
    base = ["git"]
    for kv in GIT_SAFE_CONFIG:
        base += ["-c", kv]
    regexp = r"^filter\..*\.(clean|smudge|process)$"
    ok, out, err = run_cmd(base + ["config", "--show-scope", "--get-regexp", regexp], cwd, safe_git_env(), 10)
    scoped = True
    if not ok and "show-scope" in err:
        scoped = False
        ok, out, _ = run_cmd(base + ["config", "--get-regexp", regexp], cwd, safe_git_env(), 10)
    for kv in untrusted_driver_overrides(out if ok else "", scoped):
        base += ["-c", kv]
    return base


def redact_url(url):
    return re.sub(r"^(\w+://)[^@/]+@", r"\1", url)


def exclude_pathspecs(root, excluded):
    out = []
    for d in excluded:
        rel = os.path.relpath(d, root)
        if rel and rel != "." and not rel.startswith(".."):
            out.append(":(exclude,top)" + rel.replace(os.sep, "/"))
    return out


def git_info(cwd, excluded):
    try:
        git = safe_git_argv(cwd)
    except RuntimeError:
        return {"git_hash": "unknown", "git_branch": "unknown", "git_dirty": True, "git_remote": None, "root": None}
    env = safe_git_env()
    ok, top, _ = run_cmd(git + ["rev-parse", "--show-toplevel"], cwd, env, timeout=10)
    if not ok:
        return {"git_hash": "unknown", "git_branch": "unknown", "git_dirty": True, "git_remote": None, "root": None}
    root = top.strip()
    ok_h, h, _ = run_cmd(git + ["rev-parse", "HEAD"], cwd, env, timeout=10)
    ok_b, b, _ = run_cmd(git + ["rev-parse", "--abbrev-ref", "HEAD"], cwd, env, timeout=10)
    ok_s, s, _ = run_cmd(git + ["-c", "core.quotepath=off", "status", "--porcelain", "--ignore-submodules=dirty",
                                "--", ":/"] + exclude_pathspecs(root, excluded), cwd, env, timeout=60)
    ok_r, r, _ = run_cmd(git + ["config", "--get", "remote.origin.url"], cwd, env, timeout=10)
    return {
        "git_hash": h.strip() if ok_h else "unknown",
        "git_branch": b.strip() if ok_b else "unknown",
        "git_dirty": bool(s.strip()) if ok_s else True,
        "git_remote": redact_url(r.strip()) if ok_r else None,
        "root": root,
    }


class PatchSplitter:
    """git diff output cut into per-file sections, whole sections kept while under the limit (as git.ts)."""

    def __init__(self, limit, out):
        self.limit, self.out = limit, out
        self.section, self.section_bytes, self.section_path, self.dropped = [], 0, "", False
        self.carry = b""
        self.written, self.files, self.omitted = 0, 0, []

    def push(self, chunk):
        data = self.carry + chunk
        start = 0
        while True:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            self.line(data[start : nl + 1])
            start = nl + 1
        self.carry = data[start:]

    def line(self, line):
        if line.startswith(b"diff --git "):
            self.flush()
            m = re.match(rb"^diff --git a/(.*) b/(.*)\n$", line)
            self.section_path = (m.group(2) if m else line[11:].strip()).decode("latin-1")
        self.section_bytes += len(line)
        if self.dropped:
            return
        if self.written + self.section_bytes > self.limit:
            self.dropped = True
            self.section = []
            return
        self.section.append(line)

    def flush(self):
        if self.carry:
            rest, self.carry = self.carry, b""
            self.line(rest)
        if self.section_bytes == 0:
            return
        if self.dropped:
            self.omitted.append({"path": self.section_path, "bytes": self.section_bytes})
        else:
            for b in self.section:
                self.out.write(b)
            self.written += self.section_bytes
            self.files += 1
        self.section, self.section_bytes, self.dropped = [], 0, False


def write_patch(root, out_file, limit, excluded):
    import shutil, subprocess, tempfile  # here, not at the top: a listing never needs them
    pathspecs = ["."] + exclude_pathspecs(root, excluded)
    tmpdir = tempfile.mkdtemp(prefix="expdesk-index-")
    env = safe_git_env(dict(os.environ, GIT_INDEX_FILE=os.path.join(tmpdir, "index")))
    with open(out_file, "wb") as out:
        splitter = PatchSplitter(limit, out)
        try:
            git = safe_git_argv(root)
            ok, _, err = run_cmd(git + ["read-tree", "HEAD"], root, env, 60)
            if not ok:
                raise RuntimeError("git read-tree HEAD: %s" % err.strip())
            ok, _, err = run_cmd(git + ["add", "--all", "--intent-to-add", "--"] + pathspecs, root, env, 120)
            # git exits 1 when an excluded pathspec (experiments/) is also gitignored,
            # after adding everything else: that is not a failure (as in capture/git.ts).
            if not ok and "paths are ignored by one of your .gitignore files" not in err:
                raise RuntimeError("git add --intent-to-add: %s" % err.strip())
            argv = git + ["-c", "core.quotepath=off", "diff", "--binary", "--full-index", "--no-color",
                          "--no-ext-diff", "--no-textconv", "--ignore-submodules=dirty", "--no-renames", "HEAD",
                          "--", "."]
            p = subprocess.Popen(argv, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            while True:
                chunk = p.stdout.read(1 << 16)
                if not chunk:
                    break
                splitter.push(chunk)
            err = p.stderr.read().decode("utf-8", "replace")
            if p.wait() != 0:
                raise RuntimeError("git diff: %s" % (err.strip() or "exit %d" % p.returncode))
            splitter.flush()
            return {"bytes": splitter.written, "files": splitter.files, "complete": not splitter.omitted,
                    "omitted": splitter.omitted}
        except Exception as e:  # noqa: BLE001 - a failed patch is recorded, never fatal
            splitter.flush()
            return {"bytes": splitter.written, "files": splitter.files, "complete": False,
                    "omitted": splitter.omitted, "error": str(e)}
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)


def probe_python(python, probe, cwd, timeout):
    # `probe` is the launcher's script (PYTHON_PROBE in src/main/core/capture/python.ts): one source for both.
    ok, out, err = run_cmd([python, "-c", probe], cwd, timeout=timeout)
    if ok:
        try:
            return json.loads(out.strip().split("\n")[-1])
        except ValueError:
            err = "unexpected output %r" % out[:200]
    return {"python_version": "unknown", "torch_version": "unknown", "cuda_version": "unknown",
            "python_executable": python, "conda": False, "error": "probing %s: %s" % (python, err.strip())}


def system_info():
    import platform  # here, not at the top: a listing never needs it
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "i686": "ia32"}.get(
        platform.machine().lower(), platform.machine())
    model = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        model = platform.processor() or "unknown"
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        mem = 0
    gpus = []
    ok, out, _ = run_cmd(["nvidia-smi", "--query-gpu=name,memory.total,driver_version", "--format=csv,noheader"],
                         timeout=10)
    if ok:
        for line in out.strip().split("\n"):
            if line.strip():
                parts = [s.strip() for s in line.split(",")] + ["", "", ""]
                gpus.append({"name": parts[0], "memory_total": parts[1], "driver_version": parts[2]})
    return {"hostname": hostname(), "os": "%s %s %s" % (platform.system(), platform.release(), arch),
            "cpu": {"model": model, "count": os.cpu_count() or 1}, "memory_bytes": mem, "gpus": gpus}


def experiment_name(n, base):
    name = "exp%03d_%s" % (n, base)
    return re.sub(r"[-._]+$", "", name[:120]) if len(name) > 120 else name


def next_number(names):
    best = 0
    for n in names:
        m = re.match(r"^exp(\d+)(?:_|$)", n)
        if m:
            best = max(best, int(m.group(1)))
    return best + 1


def op_prepare(req):
    import shutil  # here, not at the top: a listing never needs it
    from datetime import datetime

    cwd = resolve(req["cwd"])
    if not os.path.isdir(cwd):
        raise Fail("bad-request", "the project folder %s does not exist on %s" % (cwd, hostname()))
    exp_parent = resolve(req["experiments_dir"])
    git = git_info(cwd, [exp_parent])
    if git["git_dirty"] and git["root"] and req.get("refuse_dirty"):
        raise Fail("bad-request", "the working tree of %s has uncommitted changes; commit them or launch without "
                   "--refuse-dirty" % git["root"])
    started = datetime.now()
    os.makedirs(exp_parent, exist_ok=True)
    explicit = req.get("name")
    if explicit:
        name = explicit
        try:
            os.mkdir(os.path.join(exp_parent, name))
        except FileExistsError:
            raise Fail("bad-request", "an experiment named %s already exists in %s" % (name, exp_parent))
    else:
        base = req["base"] + "_" + started.strftime("%m%d_%H%M")
        n = next_number(os.listdir(exp_parent))
        for _ in range(1000):
            name = experiment_name(n, base)
            try:
                os.mkdir(os.path.join(exp_parent, name))  # atomic: exactly one creator wins
                break
            except FileExistsError:
                n += 1
        else:
            raise Fail("bad-request", "could not find a free experiment number in %s" % exp_parent)
    exp_dir = os.path.join(exp_parent, name)
    for sub in ("checkpoints", "logs", "outputs"):
        os.makedirs(os.path.join(exp_dir, sub), exist_ok=True)
    patch = None
    if git["root"] and git["git_hash"] != "unknown":
        patch = write_patch(git["root"], os.path.join(exp_dir, "uncommitted.patch"),
                            int(req.get("patch_limit") or 50 << 20), [exp_parent])
    python = req.get("python") or "python3"
    py = probe_python(python, req["probe"], cwd, float(req.get("probe_timeout_ms") or 30000) / 1000)
    ok, freeze, err = run_cmd([python, "-m", "pip", "freeze"], cwd,
                              timeout=float(req.get("freeze_timeout_ms") or 120000) / 1000)
    freeze_out = {"text": freeze} if ok else {
        "text": "# pip freeze failed for %s: %s\n" % (python, (err.strip().split("\n") or ["failed"])[-1]),
        "error": "pip freeze: %s" % ((err.strip().split("\n") or ["failed"])[-1])}
    conda = None
    if py.get("conda"):
        prefix = os.path.dirname(os.path.dirname(py["python_executable"]))
        ok, c, cerr = run_cmd([os.environ.get("CONDA_EXE") or "conda", "list", "--export", "-p", prefix], cwd,
                              timeout=120)
        conda = c if ok else "# conda list --export failed: %s\n" % cerr.strip()
    return {"exp_dir": exp_dir, "name": name, "cwd": cwd, "started_at": started.isoformat(), "git": git,
            "py": py, "freeze": freeze_out, "conda": conda, "sys": system_info(), "patch": patch,
            "env": dict(os.environ), "tmux": shutil.which("tmux") is not None}


def write_atomic(path, data, mode):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def op_start(req):
    import shutil, signal, tempfile  # here, not at the top: a listing never needs them
    for f in req.get("files") or []:
        write_atomic(f["path"], base64.b64decode(f["data"]), int(f.get("mode") or 0o644))
    spec = req["spec"]
    exp_dir = spec["exp_dir"]
    env = dict((k, v) for k, v in os.environ.items() if k not in ("TMUX", "TMUX_PANE"))
    env.update(spec.pop("env_extra", {}))
    spec["env"] = env
    use_tmux = bool(req.get("tmux")) and shutil.which("tmux") is not None
    session = req.get("session") if use_tmux else None
    spec["tmux_session"] = session
    # The wrapper proves the run is Expdesk's in a record in this user's state dir (see op_stop).
    spec["record_file"] = run_record_file(exp_dir)
    # The spec holds the run's environment: a private folder, a private file; the wrapper deletes it.
    tmp = tempfile.mkdtemp(prefix="expdesk-launch-")
    runner = os.path.join(tmp, "expdesk_run.py")
    with open(runner, "wb") as f:
        f.write(base64.b64decode(req["runner"]))
    for name, data in (req.get("runner_modules") or {}).items():
        if not re.match(r"^[a-z_]+\.py$", name):
            raise Fail("bad-request", "bad runner module name: %r" % name)
        with open(os.path.join(tmp, name), "wb") as f:
            f.write(base64.b64decode(data))
    spec_file = os.path.join(tmp, "spec.json")
    fd = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f)
    python = req.get("runner_python") or sys.executable or "python3"
    errlog = os.path.join(tmp, "start.err")
    interval = req.get("system_interval")
    argv = [python, runner] + (["--system-interval", str(float(interval))] if interval is not None else []) + [spec_file]
    if session:
        cmd = ["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", "--"] + argv
        ok, _, err = run_cmd(cmd, spec["cwd"], env, 15)
        if not ok:
            shutil.rmtree(tmp, ignore_errors=True)
            raise Fail("internal", "tmux new-session failed: %s" % err.strip())
    else:
        # No tmux: a session of its own (setsid), detached from this connection,
        # so the run survives the SSH link; the wrapper still records its exit.
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                if os.fork() != 0:
                    os._exit(0)
                os.chdir(spec["cwd"])
                nul = os.open(os.devnull, os.O_RDWR)
                err_fd = os.open(errlog, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(nul, 0)
                os.dup2(nul, 1)
                os.dup2(err_fd, 2)
                signal.signal(signal.SIGHUP, signal.SIG_IGN)
                os.execvpe(python, argv, env)
            finally:
                os._exit(127)
        os.waitpid(pid, 0)
    deadline = time.time() + float(req.get("start_timeout_ms") or 15000) / 1000
    status_path = os.path.join(exp_dir, "expdesk_status.json")
    try:
        while not os.path.exists(status_path):
            if time.time() > deadline:
                why = ""
                try:
                    with open(errlog) as f:
                        why = f.read()[-2000:]
                except OSError:
                    pass
                raise Fail("internal", "the run wrapper did not start within %d s%s"
                           % (int(float(req.get("start_timeout_ms") or 15000) / 1000), (": " + why) if why else ""))
            time.sleep(0.02)
    finally:
        # The wrapper has read its script (Python compiles it whole at start): nothing needs it now.
        try:
            os.unlink(runner)
        except OSError:
            pass
    with open(status_path) as f:
        status = json.load(f)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"tmux_session": session, "status": status, "hostname": hostname()}


def run_record_file(exp_dir):
    """Where the wrapper records the run in exp_dir (as src/main/core/runs/run-record.ts does locally)."""
    import hashlib  # here, not at the top: only launches and stops need it
    base = os.environ.get("EXPDESK_STATE_DIR") or os.path.join(
        os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state"), "expdesk")
    key = hashlib.sha256(os.path.realpath(exp_dir).encode("utf-8", "surrogateescape")).hexdigest()
    return os.path.join(base, "runs", key + ".json")


def proc_identity(pid):
    """pid's start time and process group now (/proc/<pid>/stat fields 22 and 5), as the wrapper records them."""
    import subprocess  # here, not at the top: a listing never needs it
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            raw = f.read().decode("latin-1")
        fields = raw[raw.rindex(")") + 2:].split(" ")
        return {"start": fields[19], "pgid": int(fields[2]), "zombie": fields[0] == "Z"}
    except (OSError, ValueError, IndexError):
        pass
    try:
        out = subprocess.run(["ps", "-o", "pgid=,stat=,lstart=", "-p", str(pid)], capture_output=True,
                             timeout=5).stdout.decode().split()
        if len(out) > 2:
            return {"start": " ".join(out[2:]), "pgid": int(out[0]), "zombie": out[1].startswith("Z")}
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return None


def run_record(exp_dir):
    """The wrapper's record of the run in exp_dir, or None: a status file alone proves nothing."""
    try:
        with open(run_record_file(exp_dir), "rb") as f:
            rec = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(rec, dict) or rec.get("schema") != "expdesk.run-record/1" \
            or rec.get("exp_dir") != os.path.realpath(exp_dir):
        return None
    return rec


def still_running(rec, proc):
    """Whether proc (a record entry) is still that very process: same host, boot, start time and group."""
    if not isinstance(proc, dict) or rec.get("hostname") != hostname():
        return False
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            boot = f.read().strip()
    except OSError:
        boot = ""
    pid, pgid = proc.get("pid"), proc.get("pgid")
    if rec.get("boot_id") != boot or not isinstance(pid, int) or pid <= 1 or not isinstance(pgid, int):
        return False
    now = proc_identity(pid)
    return bool(now) and not now["zombie"] and now["start"] == proc.get("start") and now["pgid"] == pgid


def settle_dead_wrapper(exp_dir, st, rec, state, note):
    """The wrapper died without recording the end: record it here (status, and FAILED.txt in the
    seed's form when failed), as Expdesk does locally (src/main/core/runs/control.ts)."""
    from datetime import datetime
    why = ("Expdesk's run wrapper (pid %s) died without recording the end of the run (killed, or out of "
           "memory or disk); %s." % ((rec.get("wrapper") or {}).get("pid"), note))
    if state == "failed":
        step = 0
        tail = b""
        try:
            with open_regular(os.path.join(exp_dir, METRICS))[0] as f:  # never a FIFO or device
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256 * 1024))
                for line in reversed(f.read().splitlines()):
                    try:
                        r = json.loads(line.decode("utf-8", "replace"))
                    except ValueError:
                        continue
                    if isinstance(r, dict) and isinstance(r.get("step"), (int, float)):
                        step = int(r["step"])
                        break
        except OSError:
            pass
        try:
            with open_regular(os.path.join(exp_dir, "logs", "train.log"))[0] as f:  # never a FIFO or device
                f.seek(0, os.SEEK_END)
                f.seek(max(0, f.tell() - 256 * 1024))
                tail = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07", b"", f.read()).replace(b"\r\n", b"\n")
        except OSError:
            pass
        at = tail.rfind(b"Traceback (most recent call last):")
        if at >= 0:
            body = tail[at:].decode("utf-8", "replace").rstrip()
        else:
            last = b"\n".join(l.split(b"\r")[-1] for l in tail.split(b"\n")[-40:]).decode("utf-8", "replace")
            body = "No Python traceback in the log; its last lines:\n" + last.strip()
        text = "Failed at step %d\n%s\n%s\n" % (step, why, body)
        write_atomic(os.path.join(exp_dir, "FAILED.txt"), text.encode("utf-8"), 0o644)
    ended = datetime.now().isoformat()
    st = dict(st, state=state, ended_at=ended, exit_code=None, signal=None, failure=why, updated_at=ended)
    write_atomic(os.path.join(exp_dir, "expdesk_status.json"), (json.dumps(st, indent=2) + "\n").encode(), 0o644)
    try:
        os.unlink(run_record_file(exp_dir))
    except OSError:
        pass
    return st


def op_stop(req):
    import signal  # here, not at the top: a listing never needs it
    exp_dir = resolve(req["exp_dir"])
    wait = float(req.get("wait_ms") or 30000) / 1000
    status_path = os.path.join(exp_dir, "expdesk_status.json")

    def read():
        s = read_status_json(status_path)
        return s if isinstance(s, dict) and s.get("schema") == "expdesk.status/1" else None

    st = read()
    if st is None:
        raise Fail("bad-request", "%s has no expdesk_status.json: it was not started by Expdesk, so Expdesk "
                   "cannot stop it" % exp_dir)
    if st.get("state") != "running":
        return {"status": st}
    rec = run_record(exp_dir)
    host = (rec or {}).get("hostname") or st.get("hostname")
    if host and host != hostname():
        raise Fail("bad-request", "the run is on %s; stop it from there" % host)
    if rec is None:
        named = st.get("pid") or st.get("child_pid")
        raise Fail("bad-request", "%s was not started by Expdesk on this machine; refusing to signal %s (its "
                   "expdesk_status.json is not proof: Expdesk keeps its own record of the runs it starts)"
                   % (exp_dir, "pid %s" % named if named else "any process"))
    wrapper, child = rec.get("wrapper"), rec.get("child")
    own_group = os.getpgid(0)
    settle = bool(req.get("settle"))  # only record the end of a run whose wrapper died
    if still_running(rec, wrapper) and wrapper["pid"] != os.getpid():
        if settle:
            return {"status": st}
        os.kill(wrapper["pid"], signal.SIGUSR1)
    else:
        note = "its command had ended too"
        if still_running(rec, child) and child["pgid"] == child["pid"] and child["pgid"] != own_group:
            # The wrapper is gone but the command lives on: signal the group Expdesk made for it.
            note = "Expdesk stopped its command (process group %d)" % child["pgid"]
            for sig_ in (signal.SIGINT, signal.SIGTERM, signal.SIGKILL):
                if not still_running(rec, child):
                    break
                try:
                    os.killpg(child["pgid"], sig_)
                except OSError:
                    break
                until = time.time() + 5
                while still_running(rec, child) and time.time() < until:
                    time.sleep(0.1)
        now = read()
        if now is None or now.get("state") != "running":
            return {"status": now}  # the wrapper recorded the end after all
        return {"status": settle_dead_wrapper(exp_dir, now, rec, "failed" if settle else "stopped", note)}
    deadline = time.time() + wait
    while True:
        st = read()
        if st and st.get("state") != "running":
            return {"status": st}
        if time.time() > deadline:
            return {"status": st}
        time.sleep(0.1)


WALK_MAX_DEPTH = 32  # scan.ts's MAX_WALK_DEPTH
WALK_MAX_ENTRIES = 200000  # scan.ts's MAX_WALK_ENTRIES
# What a bundle takes from the experiment's top (scan.ts's TOP_RECORDS).
BUNDLE_TOP = ("config.yaml", "metadata.json", "requirements.txt", "conda_env.txt", "uncommitted.patch",
              "FAILED.txt", SMALL["status"], "reproduce.sh")
LEFT_OUT_NAME = ".expdesk-left-out.json"


def special_name(mode):
    if stat_mod.S_ISFIFO(mode):
        return "a FIFO"
    if stat_mod.S_ISSOCK(mode):
        return "a socket"
    if stat_mod.S_ISCHR(mode) or stat_mod.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def pack_choice(p, exp_real):
    """What an export takes of the entry at p, seen without following it (bundle/plan.ts's rules):
    ("file", path to read), ("dir", None), ("skip", None) or ("leave", reason)."""
    try:
        st = os.lstat(p)
    except OSError:
        return "skip", None
    if stat_mod.S_ISREG(st.st_mode):
        return "file", p
    if stat_mod.S_ISDIR(st.st_mode):
        return "dir", None
    if not stat_mod.S_ISLNK(st.st_mode):
        return "leave", "%s: never read" % special_name(st.st_mode)
    try:
        target = os.readlink(p)
    except OSError:
        target = "?"
    try:
        os.stat(p)
    except OSError as e:
        return "leave", "a symlink loop" if e.errno == errno.ELOOP else "a link to nothing (its target is missing)"
    real = os.path.realpath(p)
    if real != exp_real and not inside(real, exp_real):
        return "leave", "a link leading outside (to %s)" % real
    rst = os.stat(real)
    if stat_mod.S_ISREG(rst.st_mode):
        return "file", real
    if stat_mod.S_ISDIR(rst.st_mode):
        return "leave", "a link to a folder (%s): links to folders are not followed" % target
    return "leave", "a link to something that is not a regular file (%s)" % target


def op_pack(req):
    """A tar stream of what a bundle takes from an experiment, plus a git pack of the recorded commit.
    Only regular files travel: a link inside the experiment to a regular file as that file's bytes;
    every other link, FIFO or device is left out and listed (with why) in .expdesk-left-out.json."""
    import subprocess, tempfile  # here, not at the top: a listing never needs them
    import tarfile

    exp_dir = resolve(req["exp_dir"])
    out = sys.stdout.buffer
    if not os.path.isdir(exp_dir) or not is_experiment(exp_dir):
        raise Fail("not-found", "%s is not an experiment folder" % exp_dir)
    base = os.path.basename(exp_dir)
    exp_real = os.path.realpath(exp_dir)
    names = []  # (path to read, name inside the experiment)
    left_out = []

    def take(p, rel):
        kind, what = pack_choice(p, exp_real)
        rel = rel.replace(os.sep, "/")
        if kind == "file":
            names.append((what, rel))
        elif kind == "leave":
            left_out.append({"path": rel, "reason": what})
        return kind

    def walk(folder, rel, depth, budget):
        """logs/ or a checkpoint folder: real folders only, never through a link; bounded."""
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            return budget
        for n in entries:
            if budget <= 0:
                return 0
            budget -= 1
            p = os.path.join(folder, n)
            r = rel + "/" + n
            if os.path.isdir(p) and not os.path.islink(p):
                if depth + 1 <= WALK_MAX_DEPTH:
                    budget = walk(p, r, depth + 1, budget)
            else:
                take(p, r)
        return budget

    for n in BUNDLE_TOP:
        take(os.path.join(exp_dir, n), n)
    logs = os.path.join(exp_dir, "logs")
    budget = WALK_MAX_ENTRIES
    if req.get("with_logs"):
        if take(logs, "logs") == "dir":
            budget = walk(logs, "logs", 1, budget)
    else:
        take(os.path.join(exp_dir, METRICS), METRICS)
    if req.get("with_checkpoint"):
        cps = os.path.join(exp_dir, "checkpoints")
        pick = "final" if os.path.isdir(os.path.join(cps, "final")) else None
        if pick is None:
            steps = []
            for e in list_dir(cps):
                m = re.match(r"^(?:step|checkpoint)[_-]?(\d+)$", e.name)
                if m:
                    steps.append((int(m.group(1)), e.name))
            pick = max(steps)[1] if steps else None
        if pick:
            chosen = os.path.join(cps, pick)
            rel = "checkpoints/" + pick
            real = os.path.realpath(chosen)
            if os.path.isdir(chosen) and not os.path.islink(chosen):
                walk(chosen, rel, 1, budget)
            elif os.path.islink(chosen) and os.path.isdir(real) and inside(real, exp_real):
                # final -> step_N inside the experiment: that folder's files, named checkpoints/final/…
                walk(real, rel, 1, budget)
            else:
                take(chosen, rel)
    pack_file = None
    commit = req.get("git_hash") or ""
    root = req.get("git_root")
    if re.match(r"^[0-9a-f]{40}([0-9a-f]{24})?$", commit) and root and os.path.isdir(root):
        try:
            git = safe_git_argv(root)
        except RuntimeError:
            git = None
        ok = git is not None and run_cmd(git + ["cat-file", "-e", commit + "^{commit}"], root, safe_git_env(), 30)[0]
        if ok:
            fd, pack_file = tempfile.mkstemp(prefix="expdesk-pack-")
            with os.fdopen(fd, "wb") as f:
                rl = subprocess.Popen(git + ["rev-list", "--objects", "-n1", commit], cwd=root,
                                      env=safe_git_env(), stdout=subprocess.PIPE)
                po = subprocess.Popen(git + ["pack-objects", "--stdout", "-q"], cwd=root, env=safe_git_env(),
                                      stdin=rl.stdout, stdout=f)
                rl.stdout.close()
                if po.wait() != 0 or rl.wait() != 0:
                    os.unlink(pack_file)
                    pack_file = None
    out.write(MARKER)
    try:
        with tarfile.open(fileobj=out, mode="w|") as tar:
            for p, n in names:
                try:
                    # Not through a link put there since, and never blocking on a FIFO.
                    fh = open(p, "rb", opener=lambda f, flags: os.open(
                        f, flags | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)))
                except OSError:
                    continue  # gone or replaced meanwhile
                with fh:
                    info = tar.gettarinfo(arcname=base + "/" + n, fileobj=fh)
                    if not info.isfile():
                        continue
                    tar.addfile(info, fh)
            listing = json.dumps(left_out).encode()
            info = tarfile.TarInfo(LEFT_OUT_NAME)
            info.size = len(listing)
            info.mtime = int(time.time())
            tar.addfile(info, io.BytesIO(listing))
            if pack_file:
                tar.add(pack_file, arcname=".expdesk-commit.pack")
    finally:
        if pack_file:
            os.unlink(pack_file)
    out.flush()
    return None


# --- metrics mirrors, confined file reads, config files ----------------------


def inside(child, parent):
    rel = os.path.relpath(child, parent)
    return rel != "." and rel.split(os.sep)[0] != ".." and not os.path.isabs(rel)


def op_tail(req):
    """Bytes of metrics files after the client's offset, checked against the inode and the
    fingerprint of the bytes before it (as MetricsTail does): reset means start over from 0.
    A path is an experiment folder (its logs/metrics.jsonl) or, with file_ok, the file itself. The bytes travel
    as latin-1 text: exact, and they compress like the text they are."""
    per_file = int(req.get("max_bytes_per_file") or 16 << 20)
    total = int(req.get("max_total_bytes") or 64 << 20)
    out = []
    for item in req.get("files") or []:
        p = resolve(item.get("path"))
        try:
            st = os.stat(p)
        except OSError as e:
            if e.errno in (errno.ENOENT, errno.ENOTDIR):
                out.append({"path": p, "error": ["not-found", "no such file or folder: %s" % p]})
            else:
                out.append({"path": p, "error": ["bad-request", "cannot read %s: %s" % (p, e.strerror)]})
            continue
        f = p
        if not stat_mod.S_ISDIR(st.st_mode) and not item.get("file_ok"):
            out.append({"path": p, "error": ["not-found", "%s is not an experiment folder" % p]})
            continue
        if stat_mod.S_ISDIR(st.st_mode):
            f = os.path.join(p, METRICS)
            if not os.path.isfile(f):
                if is_experiment(p):
                    out.append({"path": p, "missing": True})
                else:
                    out.append({"path": p, "error": ["not-found", "%s has no %s: not an experiment" % (p, METRICS)]})
                continue
        offset = int(item.get("offset") or 0)
        fp = base64.b64decode(item.get("fingerprint") or "")
        known_ino = item.get("ino")
        try:
            fh, fst = open_regular(f)
        except OSError as e:
            out.append({"path": p, "error": ["bad-request", e.message if isinstance(e, NotRegular)
                                             else "cannot read %s: %s" % (f, why(e))]})
            continue
        with fh:
            size = fst.st_size
            reset = offset > size or (offset > 0 and known_ino is not None and known_ino != fst.st_ino)
            if not reset and offset > 0 and fp:
                fh.seek(max(0, offset - len(fp)))
                if fh.read(len(fp)) != fp:
                    reset = True
            start = 0 if reset else offset
            fh.seek(start)
            data = fh.read(max(0, min(size - start, per_file, total)))
        total -= len(data)
        out.append({"path": p, "size": size, "ino": fst.st_ino, "start": start, "reset": reset,
                    "data": data.decode("latin-1"), "more": start + len(data) < size})
    return {"files": out}


def experiment_root_of(d):
    cur = os.path.abspath(d)
    while True:
        if is_experiment(cur):
            return cur
        parent = os.path.dirname(cur)
        if parent == cur:
            return None
        cur = parent


def op_file(req):
    """One file of an experiment (src/main/core/workspace/file-access.ts's rules)."""
    requested = resolve(req["path"])
    limit = int(req.get("max") or 2 << 20)
    root = experiment_root_of(os.path.dirname(requested))
    if root is None:
        raise Fail("forbidden", "%s is not inside an experiment folder" % requested)
    try:
        os.stat(requested)
    except OSError as e:
        if e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise Fail("not-found", "no such file: %s" % requested)
        if e.errno in (errno.EACCES, errno.EPERM):
            raise Fail("forbidden", "cannot read %s: permission denied" % requested)
        raise Fail("bad-request", "cannot read %s: %s" % (requested, e.strerror))
    real = os.path.realpath(requested)
    if not inside(real, os.path.realpath(root)):
        raise Fail("forbidden", "%s leads outside its experiment folder (to %s)" % (requested, real))
    try:
        f, st = open_regular(real, requested, nofollow=True)
        with f:
            data = f.read(min(st.st_size, limit))
    except NotRegular as e:
        raise Fail("bad-request", e.message)
    except OSError as e:
        raise Fail("forbidden" if e.errno in (errno.EACCES, errno.EPERM) else "bad-request",
                   "cannot read %s: %s" % (requested, why(e)))
    return {"size": st.st_size, "data": b64(data)}


CONFIG_EXT = re.compile(r"\.ya?ml$", re.I)
MAX_CONFIG_BYTES = 4 * 1024 * 1024
MAX_CONFIG_TOTAL_BYTES = 32 * 1024 * 1024


def project_root(workspace):
    """The project a workspace belongs to (projectRootOf in config-files.ts)."""
    root = resolve(workspace)
    if os.path.isdir(os.path.join(root, "configs")) or os.path.isdir(os.path.join(root, "experiments")):
        return root
    if os.path.basename(root) == "experiments":
        return os.path.dirname(root)
    parent = os.path.dirname(root)
    if os.path.basename(parent) == "experiments" and is_experiment(root):
        return os.path.dirname(parent)
    return root


def op_configs(req):
    project = project_root(req["root"])
    found = []

    def walk(d, depth):
        if depth > 8 or len(found) >= 5000:
            return
        for e in sorted(list_dir(d), key=lambda e: e.name):
            if e.name.startswith(".") or len(found) >= 5000:
                continue
            if e.is_dir(follow_symlinks=False):
                walk(e.path, depth + 1)
            elif CONFIG_EXT.search(e.name) and os.path.isfile(e.path):
                found.append({"path": e.path, "rel": os.path.relpath(e.path, project).replace(os.sep, "/")})

    walk(os.path.join(project, "configs"), 0)
    found.sort(key=lambda f: f["rel"])
    if req.get("data"):
        # Every config's text in the same answer (the interface composes a remote
        # config here, defaults included): only files really inside the project.
        project_real = os.path.realpath(project)
        total = 0
        for f in found:
            real = os.path.realpath(f["path"])
            if not inside(real, project_real):
                continue
            try:
                fh, st = open_regular(real, f["path"])
            except NotRegular:
                continue  # a FIFO or device among the configs is not a config
            with fh:
                size = st.st_size
                total += size
                if size > MAX_CONFIG_BYTES or total > MAX_CONFIG_TOTAL_BYTES:
                    raise Fail("bad-request",
                               "%s: the configs are too large to compose (%d bytes)" % (f["path"], total))
                f["data"] = b64(fh.read(size))
    return {"project": project, "files": found}


def config_target(req, for_write):
    """The real path of a config file inside the project (resolveInProject in config-files.ts)."""
    project = project_root(req["root"])
    requested = resolve(req["file"])
    if not CONFIG_EXT.search(requested):
        raise Fail("bad-request", "only .yaml and .yml files are configs: %s" % requested)
    if not os.path.isdir(project):
        raise Fail("not-found", "the project folder is gone: %s" % project)
    project_real = os.path.realpath(project)
    if os.path.exists(requested):
        real = os.path.realpath(requested)
    elif not for_write:
        raise Fail("not-found", "cannot open %s" % requested)
    else:
        folder = os.path.dirname(requested)
        if not os.path.isdir(folder):
            raise Fail("not-found", "no such folder: %s" % folder)
        if os.path.lexists(requested):
            raise Fail("forbidden", "%s is a link to a missing file" % requested)
        real = os.path.join(os.path.realpath(folder), os.path.basename(requested))
    if not inside(real, project_real):
        raise Fail("forbidden", "%s is outside the open project (%s)" % (requested, project))
    return requested, real, project_real


def op_config_read(req):
    requested, real, _ = config_target(req, False)
    try:
        f, st = open_regular(real, requested)
    except NotRegular as e:
        raise Fail("bad-request", e.message)
    with f:
        if st.st_size > MAX_CONFIG_BYTES:
            raise Fail("bad-request", "%s is %d bytes: too large for a config" % (requested, st.st_size))
        return {"data": b64(f.read(st.st_size))}


def op_config_write(req):
    requested, real, project_real = config_target(req, True)
    # Stricter than a local save: a remote project's files are edited only in its configs/ folder.
    configs_real = os.path.realpath(os.path.join(project_real, "configs"))
    if not inside(real, configs_real):
        raise Fail("forbidden", "%s is outside the project's configs folder (%s)" % (requested, configs_real))
    if os.path.relpath(real, project_real).split(os.sep)[0] == "experiments":
        raise Fail("forbidden", "%s is in the experiments folder: frozen configs are not edited" % requested)
    d = os.path.dirname(real)
    while d == project_real or inside(d, project_real):
        if is_experiment(d):
            raise Fail("forbidden", "%s is inside the experiment %s: frozen configs are not edited" % (requested, d))
        if d == project_real:
            break
        d = os.path.dirname(d)
    mode = 0o644
    if os.path.exists(real):
        st = os.stat(real)
        if not stat_mod.S_ISREG(st.st_mode):
            raise Fail("bad-request", "not a file: %s" % requested)
        mode = stat_mod.S_IMODE(st.st_mode)
    tmp = os.path.join(os.path.dirname(real), ".%s.%s.tmp" % (os.path.basename(real), base64.b16encode(os.urandom(6)).decode().lower()))
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "wb") as f:
            f.write(base64.b64decode(req["data"]))
        os.chmod(tmp, mode)
        os.rename(tmp, real)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if e.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise Fail("forbidden", "cannot write %s: %s" % (requested, e.strerror))
        raise
    return {"path": real}


def op_ops(req):
    return {"ops": sorted(OPS)}


# The dispatch table: exactly the operations declared in src/main/core/remote/protocol.ts (a test checks).
OPS = {"ops": op_ops, "pack": op_pack, "tail": op_tail, "file": op_file, "configs": op_configs,
       "config_read": op_config_read, "config_write": op_config_write, "gather": op_gather, "read": op_read,
       "follow": op_follow, "prepare": op_prepare, "start": op_start, "stop": op_stop,
       "run_files": op_run_files, "annotate": op_annotate}


def main():
    # One JSON line; stdin then stays open only for `follow`, whose end is our stdin's end.
    raw = sys.stdin.buffer.readline()
    req = json.loads(raw.decode("utf-8"))
    op = OPS.get(req.get("op"))
    out = sys.stdout.buffer
    ANSWER[0] = Answer(out)
    try:
        if req.get("v") != PROTOCOL_VERSION:
            raise Fail("bad-request", "the remote helper speaks protocol version %d, the client sent %r: "
                       "versions differ" % (PROTOCOL_VERSION, req.get("v")))
        if op is None:
            raise Fail("bad-request", "unknown operation %r" % req.get("op"))
        result = op(req)
        if result is None:
            return 0
        body = {"v": PROTOCOL_VERSION, "ok": result}
    except Fail as e:
        if op is op_follow:
            # The follow stream speaks in frames: its errors are frames too.
            frame = {"t": "error", "code": e.code, "message": e.message}
            out.write(MARKER + (json.dumps(frame) + "\n").encode())
            out.flush()
            return 0
        body = {"v": PROTOCOL_VERSION, "error": {"code": e.code, "message": e.message}}
    except Exception as e:  # noqa: BLE001 - every failure goes back to the client as an answer
        body = {"v": PROTOCOL_VERSION, "error": {"code": "internal", "message": "%s: %s" % (type(e).__name__, e)}}
    if "error" in body:
        take_blobs()
    ANSWER[0].finish(body)
    return 0

if __name__ == "__main__":
    sys.exit(main())
