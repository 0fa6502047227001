"""Expdesk's system sampler: the machine beside the metrics, for the run wrapper (expdesk_run.py).

Every `interval` seconds a thread appends one seed-style record to logs/system.jsonl:

  {"step": <last step in logs/metrics.jsonl, or null>, "prefix": "system", "timestamp": "...",
   "system/cpu_percent": ..., "system/mem_used_mb": ..., "system/mem_total_mb": ...,
   "system/proc_rss_mb": ..., "system/disk_free_gb": ...,
   "system/gpu0/util_percent": ..., "system/gpu0/mem_used_mb": ..., "system/gpu0/mem_total_mb": ...,
   "system/gpu0/temp_c": ..., "system/gpu0/power_w": ...}

CPU from /proc/stat (busy share of all CPUs since the last sample), machine memory from
/proc/meminfo (MemTotal - MemAvailable), the run's process tree RSS from /proc/<pid>/stat
(the command and all its descendants), free disk where the experiment folder lies
(os.statvfs), and per GPU the documented CSV of
`nvidia-smi --query-gpu=... --format=csv,noheader,nounits`. A missing nvidia-smi (or /proc)
leaves those fields out; a sample never fails the run. Each record is one write(2) of a
whole line to a file opened with O_APPEND, so a reader never sees half a line from us.

Multi-node SLURM jobs: the wrapper runs on the job's first node (its samples stay in
logs/system.jsonl); `NodeSamplers` starts one more job step (`srun --overlap
--ntasks-per-node=1`, one task per node of the allocation) running this file in node mode,
which samples every other node into logs/system-<node>.jsonl (same record form; the node's
SLURM name, else its short host name; characters outside [A-Za-z0-9._-] become "_"). The
step ends when the run does. Node mode has no process tree to measure (the ranks there are
the scheduler's children), so those records carry no proc_rss_mb.

Python standard library only, like the wrapper. Hand-written rather than psutil: the wrapper
must run where nothing can be installed (remote GPU boxes).
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime

GPU_QUERY = ["nvidia-smi", "--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,"
             "power.draw", "--format=csv,noheader,nounits"]
GPU_FIELDS = ["util_percent", "mem_used_mb", "mem_total_mb", "temp_c", "power_w"]
MB = 1024.0 * 1024.0


def _number(text):
    """A CSV cell as a number, or None ("[N/A]", "[Not Supported]", empty)."""
    try:
        v = float(text.strip())
    except ValueError:
        return None
    return int(v) if v.is_integer() else v


def parse_gpu_csv(text):
    """nvidia-smi's CSV (noheader, nounits) as {"system/gpu<index>/<field>": value}."""
    out = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.split(",")]
        if len(cells) != 1 + len(GPU_FIELDS) or not cells[0].isdigit():
            continue
        for name, cell in zip(GPU_FIELDS, cells[1:]):
            v = _number(cell)
            if v is not None:
                out["system/gpu%s/%s" % (cells[0], name)] = v
    return out


def gpu_fields(timeout=5.0):
    try:
        r = subprocess.run(GPU_QUERY, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return {}  # no nvidia-smi (or it hung): no GPU fields
    return parse_gpu_csv(r.stdout.decode("utf-8", "replace")) if r.returncode == 0 else {}


def cpu_times():
    """(busy, total) jiffies of all CPUs, or None without /proc/stat."""
    try:
        with open("/proc/stat", "rb") as f:
            first = f.readline().split()
        vals = [int(x) for x in first[1:]]
    except (OSError, ValueError):
        return None
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    total = sum(vals[:8])  # guest time is already counted in user
    return total - idle, total


def memory_fields():
    info = {}
    try:
        with open("/proc/meminfo", "rb") as f:
            for line in f:
                key, _, rest = line.partition(b":")
                if key in (b"MemTotal", b"MemAvailable"):
                    info[key] = int(rest.split()[0])  # kB
    except (OSError, ValueError, IndexError):
        return {}
    if b"MemTotal" not in info or b"MemAvailable" not in info:
        return {}
    return {"system/mem_used_mb": round((info[b"MemTotal"] - info[b"MemAvailable"]) / 1024.0, 1),
            "system/mem_total_mb": round(info[b"MemTotal"] / 1024.0, 1)}


def tree_rss_bytes(root_pid):
    """RSS of root_pid and all its descendants, from /proc/<pid>/stat (ppid, rss in pages); None without /proc."""
    page = os.sysconf("SC_PAGE_SIZE")
    parent, rss = {}, {}
    try:
        names = os.listdir("/proc")
    except OSError:
        return None
    for name in names:
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % name, "rb") as f:
                raw = f.read()
            fields = raw[raw.rindex(b")") + 2:].split()
            pid = int(name)
            parent[pid] = int(fields[1])
            rss[pid] = int(fields[21]) * page
        except (OSError, ValueError, IndexError):
            continue  # a process that ended meanwhile
    if root_pid not in rss:
        return None
    children = {}
    for pid, ppid in parent.items():
        children.setdefault(ppid, []).append(pid)
    total, todo, seen = 0, [root_pid], set()
    while todo:
        pid = todo.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        todo.extend(children.get(pid, ()))
    return total


def last_step(metrics_path, size=64 * 1024):
    """The step of the last complete record of metrics.jsonl with a numeric step, or None."""
    try:
        with open(metrics_path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            tail = f.read()
    except OSError:
        return None
    lines = tail.split(b"\n")
    for line in reversed(lines[:-1]):  # the last piece has no newline yet (or is empty)
        try:
            rec = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            continue
        step = rec.get("step") if isinstance(rec, dict) else None
        if isinstance(step, (int, float)) and not isinstance(step, bool):
            return step
    return None


class SystemSampler:
    """Samples the machine for one run; `start()` runs it on a daemon thread until `stop()`."""

    def __init__(self, exp_dir, interval, root_pid=None, say=None, path=None):
        self.exp_dir = exp_dir
        self.interval = float(interval)
        self.root_pid = root_pid
        self.say = say or (lambda _line: None)
        self.path = path or os.path.join(exp_dir, "logs", "system.jsonl")
        self.metrics_path = os.path.join(exp_dir, "logs", "metrics.jsonl")
        self.prev_cpu = cpu_times()
        self.failed = False  # a write failed (reported once)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = None

    def record(self):
        """One record (a dict), sampled now."""
        rec = {"step": last_step(self.metrics_path), "prefix": "system", "timestamp": datetime.now().isoformat()}
        cpu = cpu_times()
        if cpu is not None and self.prev_cpu is not None and cpu[1] > self.prev_cpu[1]:
            busy = (cpu[0] - self.prev_cpu[0]) / float(cpu[1] - self.prev_cpu[1])
            rec["system/cpu_percent"] = round(100.0 * max(0.0, min(1.0, busy)), 1)
        self.prev_cpu = cpu
        rec.update(memory_fields())
        if self.root_pid is not None:
            rss = tree_rss_bytes(self.root_pid)
            if rss is not None:
                rec["system/proc_rss_mb"] = round(rss / MB, 1)
        try:
            st = os.statvfs(self.exp_dir)
            rec["system/disk_free_gb"] = round(st.f_bavail * st.f_frsize / (MB * 1024.0), 2)
        except OSError:
            pass
        rec.update(gpu_fields())
        return rec

    def sample(self):
        """Append one record to logs/system.jsonl: one write of a whole line (O_APPEND)."""
        line = (json.dumps(self.record()) + "\n").encode("utf-8")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                n = os.write(fd, line)
            finally:
                os.close(fd)
            if n != len(line):
                raise OSError("short write (%d of %d bytes)" % (n, len(line)))
            self.samples += 1
        except OSError as e:
            if not self.failed:
                self.failed = True
                self.say("expdesk: cannot write %s (%s): system metrics are not recorded" % (self.path, e))

    def _loop(self):
        while not self._stop.wait(self.interval):
            try:
                self.sample()
            except Exception as e:  # noqa: BLE001 - the sampler must never end the run
                self.say("expdesk: system metrics stopped: %s" % e)
                return

    def start(self):
        if self.interval <= 0:
            return
        self._thread = threading.Thread(target=self._loop, name="expdesk-system", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def parse_interval(argv):
    """`[--system-interval SECONDS] SPEC` → (interval, remaining args). Default 10 s; 0 turns it off."""
    interval, rest, i = 10.0, [], 0
    while i < len(argv):
        a = argv[i]
        if a == "--system-interval" and i + 1 < len(argv):
            interval = float(argv[i + 1])
            i += 2
            continue
        if a.startswith("--system-interval="):
            interval = float(a.split("=", 1)[1])
        else:
            rest.append(a)
        i += 1
    if interval != interval or interval < 0:  # NaN or negative
        raise ValueError("--system-interval must be 0 or more seconds")
    return interval, rest


def node_count():
    """Nodes of the SLURM allocation this process runs in (1 outside SLURM)."""
    try:
        return max(1, int(os.environ.get("SLURM_JOB_NUM_NODES") or os.environ.get("SLURM_NNODES") or 1))
    except ValueError:
        return 1


def node_name():
    """This node's SLURM name, else its short host name."""
    return os.environ.get("SLURMD_NODENAME") or socket.gethostname().split(".")[0]


def node_file(exp_dir, node):
    """logs/system-<node>.jsonl, the node's name kept to [A-Za-z0-9._-]."""
    return os.path.join(exp_dir, "logs", "system-%s.jsonl" % re.sub(r"[^A-Za-z0-9._-]", "_", node))


class NodeSamplers:
    """The other nodes of a multi-node SLURM job, sampled by one `srun` step (one task per node)."""

    def __init__(self, exp_dir, interval, source, say=None, python=None):
        self.exp_dir = exp_dir
        self.interval = float(interval)
        self.source = source  # this file's text: run with `python -c` on every node, no file needed there
        self.say = say or (lambda _line: None)
        self.python = python or sys.executable or "python3"
        self.proc = None

    def argv(self, nodes):
        return ["srun", "--overlap", "--nodes=%d" % nodes, "--ntasks=%d" % nodes, "--ntasks-per-node=1",
                "--kill-on-bad-exit=0", "--job-name=expdesk-system", "--output=/dev/null",
                self.python, "-c", self.source, "--node-sampler", "--system-interval", repr(self.interval),
                "--skip-node", node_name(), self.exp_dir]

    def start(self):
        nodes = node_count()
        if nodes <= 1 or self.interval <= 0 or not self.source:
            return
        try:
            self.proc = subprocess.Popen(self.argv(nodes), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        except OSError as e:
            self.say("expdesk: cannot sample the job's other nodes (srun: %s); logs/system.jsonl covers this one" % e)

    def stop(self):
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # srun passes it on to the step's tasks
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def node_main(argv):
    """`--node-sampler --system-interval S --skip-node NAME EXP_DIR`: sample this node until SIGTERM/SIGINT."""
    interval, rest = parse_interval(argv)
    args = [a for a in rest if a != "--node-sampler"]
    skip = None
    if "--skip-node" in args:
        i = args.index("--skip-node")
        skip = args[i + 1]
        del args[i:i + 2]
    exp_dir = args[-1]
    if node_name() == skip or interval <= 0:
        return 0  # the wrapper's node: logs/system.jsonl has it
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    sampler = SystemSampler(exp_dir, interval, path=node_file(exp_dir, node_name()),
                            say=lambda line: sys.stderr.write(line + "\n"))
    while not done.wait(interval):
        sampler.sample()
    return 0


if __name__ == "__main__":
    sys.exit(node_main(sys.argv[1:]))
