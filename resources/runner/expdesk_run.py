#!/usr/bin/env python3
"""Expdesk's run wrapper: owns one training run, independently of Expdesk.

Started by Expdesk inside a tmux session (or directly under Expdesk's pty
where tmux is missing), it runs the command in a pseudo-terminal of its own
and:
  * appends every byte the command writes to logs/train.log, in order, once,
    and echoes it to its own terminal (the tmux pane Expdesk attaches to);
  * records the run's state in expdesk_status.json (atomically), so the exit
    code, end time and status land in the experiment folder even when
    Expdesk is not running (see docs/status-file.md);
  * on failure writes FAILED.txt in the seed's form: "Failed at step N"
    (the last step in logs/metrics.jsonl) and the traceback from the log,
    unless the command wrote its own FAILED.txt during the run, which is kept;
  * on SIGUSR1 (Expdesk's "stop") sends SIGINT, then SIGTERM, then SIGKILL
    to the command's process group, with timeouts, and records "stopped";
  * proves the run is Expdesk's: it records its own and the command's pid,
    start time and process group in the file Expdesk names (record_file, in
    Expdesk's state directory, outside the experiment folder), and deletes
    that record once the end is recorded. Expdesk signals nothing else;
  * survives a log it cannot write (a full disk, an I/O error): the run goes
    on, its terminal still shows everything, the lost bytes are counted in
    the status file (log_bytes_lost), marked in the log and reported.

Python standard library only, so it runs on any machine with Python 3,
including remote GPU boxes where nothing else is installed.
"""
import time

STARTED = time.time()  # the wrapper's interpreter is up (the startup trace's first mark)

# Only what starting the command needs is imported before it starts; the rest
# (socket, datetime, the system sampler with threading and subprocess) after.
import errno  # noqa: E402
import fcntl  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import pty  # noqa: E402
import select  # noqa: E402
import signal  # noqa: E402
import struct  # noqa: E402
import sys  # noqa: E402
import termios  # noqa: E402
import tty  # noqa: E402

SCHEMA = "expdesk.status/1"
TRACEBACK_HEAD = b"Traceback (most recent call last):"
ANSI = rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07"


def now_iso():
    # The seed's timestamps: datetime.now().isoformat(), local time.
    from datetime import datetime

    return datetime.now().isoformat()


def import_system():
    """The system sampler shipped beside this file (logs/system.jsonl), or None."""
    try:
        import expdesk_system
    except ImportError:
        return None
    return expdesk_system


def write_atomic(path, data, sync=True):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        if n <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view = view[n:]


class Status:
    """The status file, written atomically, and still written when the disk is full.

    Each version is written over a spare copy whose blocks are already
    allocated (a status file fits in one), which then replaces the status
    file; the old status file, kept by a hard link, becomes the next spare.
    So recording the end of a run needs no free space."""

    def __init__(self, path, base):
        self.path = path
        self.reserve = path + ".tmp-reserve"
        self.spare = path + ".tmp-spare"
        self.data = dict(base)
        self.pending = False  # an update that could not be written yet (retried)

    def update(self, sync=True, **changes):
        """Write the status with `changes`; `sync=False` skips the fsyncs (the start's write: it only
        matters while the machine is up, and the command is waiting on it)."""
        self.data.update(changes)
        self.data["updated_at"] = now_iso()
        return self.flush(sync)

    def flush(self, sync=True):
        data = (json.dumps(self.data, indent=2) + "\n").encode()
        try:
            self._write(data, sync)
            self.pending = False
        except OSError:
            self.pending = True
        return not self.pending

    def _write(self, data, sync):
        try:
            fd = os.open(self.reserve, os.O_WRONLY | os.O_NOFOLLOW)
        except OSError:
            fd = None
        if fd is None:
            write_atomic(self.path, data, sync)
            try:
                write_atomic(self.reserve, data, sync)
            except OSError:
                pass  # no spare yet: the next write tries again
            return
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            write_all(fd, data)
            os.ftruncate(fd, len(data))
            if sync:
                os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.unlink(self.spare)
        except OSError:
            pass
        try:
            os.link(self.path, self.spare)
            kept = True
        except OSError:
            kept = False
        os.replace(self.reserve, self.path)
        if kept:
            os.replace(self.spare, self.reserve)

    def remove_spares(self):
        for p in (self.reserve, self.spare):
            try:
                os.unlink(p)
            except OSError:
                pass


class LogWriter:
    """Appends to logs/train.log; a failed write (ENOSPC, EIO …) loses those bytes, never the run."""

    def __init__(self, path, say):
        self.path = path
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.say = say  # a line for the run's terminal
        self.lost = 0  # bytes lost in all
        self.lost_here = 0  # bytes lost since the last successful write
        self.error = None  # the last write error, as text

    def write(self, data):
        if self.lost_here:
            note = ("\n[expdesk: %d bytes of output are missing here: %s]\n" % (self.lost_here, self.error)).encode()
            if not self._try(note, count=False):
                self._lose(len(data), None)
                return
            self.say("expdesk: writing %s again; %d bytes of output are missing from it (%s)"
                     % (self.path, self.lost_here, self.error))
            self.lost_here = 0
        self._try(data)

    def _try(self, data, count=True):
        view = memoryview(data)
        while view:
            try:
                n = os.write(self.fd, view)
            except OSError as e:
                if count:
                    self._lose(len(view), e)
                return False
            if n <= 0:
                if count:
                    self._lose(len(view), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)))
                return False
            view = view[n:]
        return True

    def _lose(self, n, err):
        if err is not None:
            self.error = err.strerror or str(err)
        if not self.lost_here:
            self.say("expdesk: cannot write %s (%s): the run goes on; its output shows here only, "
                     "and is missing from the log until writing works again" % (self.path, self.error))
        self.lost += n
        self.lost_here += n

    def close(self):
        try:
            os.close(self.fd)
        except OSError:
            pass


def proc_identity(pid):
    """pid's start time and process group as the kernel says now (/proc/<pid>/stat fields 22 and 5)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            raw = f.read().decode("latin-1")
        fields = raw[raw.rindex(")") + 2:].split(" ")
        return {"pid": pid, "start": fields[19], "pgid": int(fields[2])}
    except (OSError, ValueError, IndexError):
        pass
    import subprocess

    try:  # no /proc (macOS): ps, read the same way by Expdesk
        out = subprocess.run(["ps", "-o", "pgid=,stat=,lstart=", "-p", str(pid)], capture_output=True,
                             timeout=5).stdout.decode().split()
        return {"pid": pid, "start": " ".join(out[2:]), "pgid": int(out[0])} if len(out) > 2 else None
    except (OSError, ValueError, subprocess.SubprocessError):
        return None


def boot_id():
    try:
        with open("/proc/sys/kernel/random/boot_id") as f:
            return f.read().strip()
    except OSError:
        return ""


def write_record(path, record):
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    tmp = "%s.tmp-%d" % (path, os.getpid())
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    # No fsync: the record proves a process of this boot (it names the boot id), so surviving a
    # crash would not help, and the command's start would wait on the disk.
    with os.fdopen(fd, "wb") as f:
        f.write(json.dumps(record).encode())
    os.replace(tmp, path)


def read_tail(path, size=256 * 1024):
    """The last `size` bytes of a file (empty when it is missing): never the whole of a huge log."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read()
    except OSError:
        return b""


def last_step(metrics_path):
    """The step of the last record in metrics.jsonl, 0 if none (the seed's FAILED.txt)."""
    tail = read_tail(metrics_path)
    for line in reversed(tail.splitlines()):
        try:
            rec = json.loads(line.decode("utf-8", "replace"))
        except ValueError:
            continue
        if isinstance(rec, dict) and isinstance(rec.get("step"), (int, float)):
            return int(rec["step"])
    return 0


def failure_text(log_path, describe):
    """The traceback at the end of the log, or its last lines when there is none."""
    import re

    tail = re.sub(ANSI, b"", read_tail(log_path)).replace(b"\r\n", b"\n")
    at = tail.rfind(TRACEBACK_HEAD)
    if at >= 0:
        text = tail[at:].decode("utf-8", "replace").rstrip() + "\n"
        return text
    lines = [l.split(b"\r")[-1] for l in tail.split(b"\n")]
    last = b"\n".join(lines[-40:]).decode("utf-8", "replace").strip()
    return "%s\nNo Python traceback in the log; its last lines:\n%s\n" % (describe, last)


def system_module(spec):
    """The sampler module and its source: beside this file, or (a batch job's wrapper, read from
    stdin) the source the spec carries (`system_source`); (None, None) without either."""
    expdesk_system = import_system()
    if expdesk_system is not None:
        try:
            with open(expdesk_system.__file__) as f:
                return expdesk_system, f.read()
        except (OSError, AttributeError, TypeError):
            return expdesk_system, None
    source = spec.get("system_source")
    if not isinstance(source, str):
        return None, None
    import types

    module = types.ModuleType("expdesk_system")
    exec(compile(source, "expdesk_system.py", "exec"), module.__dict__)  # noqa: S102 - Expdesk's own file
    return module, source


def system_sampler(argv):
    """`[--system-interval SECONDS] SPEC`: the spec's path and a start(exp_dir, pid, say, spec) for the
    samplers (this machine's; on a multi-node SLURM job also the other nodes'), returning them. The
    sampler module is loaded by start, after the command has started."""

    def start(exp_dir, pid, say, spec):
        module, source = system_module(spec)
        if module is None:
            return []
        try:
            interval, _ = module.parse_interval(argv)
        except ValueError as e:
            say("expdesk: %s; system metrics are not sampled" % e)
            return []
        given = any(a.startswith("--system-interval") for a in argv)
        every = interval if given else float(spec.get("system_interval", 10))
        samplers = [module.SystemSampler(exp_dir, every, pid, say), module.NodeSamplers(exp_dir, every, source, say)]
        for s in samplers:
            s.start()
        return samplers

    return argv[-1], start


def trace(spec, phase, at=None):
    """A mark in the startup trace (bench/run-startup.ts) when the spec names one; never in the run's way."""
    path = spec.get("trace_file")
    if not isinstance(path, str):
        return
    try:
        with open(path, "a") as f:
            f.write(json.dumps({"phase": phase, "t": (at if at is not None else time.time()) * 1000,
                                "pid": os.getpid(), "cpu": time.process_time() * 1000}) + "\n")
    except OSError:
        pass


def abandon(pid):
    """End a command the run was refused for (its record or status could not be written)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(pid, signal.SIGKILL)
            break
        except OSError:
            continue
    try:
        os.waitpid(pid, 0)
    except OSError:
        pass


def main():
    spec_path, start_sampler = system_sampler(sys.argv[1:])
    with open(spec_path) as f:
        spec = json.load(f)
    try:
        os.unlink(spec_path)  # it holds the run's environment; nothing else needs it
    except OSError:
        pass
    trace(spec, "wrapper up", STARTED)

    exp_dir = spec["exp_dir"]
    log_path = os.path.join(exp_dir, "logs", "train.log")
    metrics_path = os.path.join(exp_dir, "logs", "metrics.jsonl")
    failed_path = os.path.join(exp_dir, "FAILED.txt")
    # A FAILED.txt that appears during the run is the script's own record (the seed's
    # best practice #3): its step is the one in its traceback, so it is kept as written.
    failed_before = os.path.lexists(failed_path)
    os.makedirs(os.path.dirname(log_path), exist_ok=True)

    def say(line):
        try:
            os.write(1, ("\r\n%s\r\n" % line).encode("utf-8", "replace"))
        except OSError:
            pass

    # Opened before the status file says "running": whoever sees the run started
    # finds its log (and does not fall back to the script's own train_rank0.log).
    log = LogWriter(log_path, say)
    int_timeout, term_timeout = spec.get("stop_timeouts", [10.0, 10.0])

    stop = {"requested": None, "hangup": False}

    # Under a batch scheduler (term_is_stop false) SIGTERM is the scheduler ending the job (a time
    # limit, a preemption): passed on to the command, and the run ends as failed, not "stopped".
    term_is_stop = spec.get("term_is_stop", True)

    def on_stop(signum, _frame):
        if signum == signal.SIGTERM and not term_is_stop:
            stop["terminate"] = True
            return
        if stop["requested"] is None:
            stop["requested"] = time.monotonic()
            stop["hangup"] = signum == signal.SIGHUP
            stop["sent"] = 0

    signal.signal(signal.SIGUSR1, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGHUP, on_stop)

    winsize = None
    if os.isatty(1):
        try:
            winsize = fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8)
        except OSError:
            winsize = None

    trace(spec, "wrapper ready")
    pid, fd = pty.fork()
    if pid == 0:
        # The child: no output post-processing, so the log gets the command's
        # bytes exactly ("\n" stays "\n"); the terminal side converts for display.
        try:
            attrs = termios.tcgetattr(1)
            attrs[1] &= ~termios.OPOST
            termios.tcsetattr(1, termios.TCSANOW, attrs)
            if winsize:
                fcntl.ioctl(1, termios.TIOCSWINSZ, winsize)
            else:
                fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 160, 0, 0))
            os.chdir(spec["cwd"])
            env = spec["env"]
            if spec.get("env_from_process"):
                # A batch job: the node's environment (sbatch exports the submitter's) plus the run's variables.
                env = dict(os.environ, **env)
            os.execvpe(spec["argv"][0], spec["argv"], env)
        except BaseException as e:  # noqa: B902 - report anything, then exit like a shell would
            os.write(2, ("expdesk: cannot start %s: %s\n" % (spec["argv"][0], e)).encode())
        os._exit(127)

    trace(spec, "command forked")

    # The bookkeeping comes after the start, while the command's own startup runs: Expdesk's
    # proof that this run is its own, then the status file that announces it ("running"). If
    # either cannot be written, the command is ended at once and the run is refused.
    import socket

    refused = None
    record_file = spec.get("record_file")
    if record_file:
        me = proc_identity(os.getpid())
        child = proc_identity(pid)
        record = {"schema": "expdesk.run-record/1", "exp_dir": os.path.realpath(exp_dir),
                  "hostname": socket.gethostname(), "boot_id": boot_id(), "wrapper": me,
                  # The command leads a session and process group of its own (pty.fork): pgid == pid.
                  "child": {"pid": pid, "start": child["start"], "pgid": pid} if child is not None else None,
                  "tmux_session": spec.get("tmux_session")}
        try:
            if me is None:
                raise OSError(errno.ESRCH, "cannot read this process's start time (/proc or ps)")
            write_record(record_file, record)
        except OSError as e:
            refused = "expdesk: cannot record the run in %s: %s\n" % (record_file, e)
            record_file = None

    status = Status(
        os.path.join(exp_dir, "expdesk_status.json"),
        {
            "schema": SCHEMA,
            "state": "running",
            "started_at": now_iso(),
            "ended_at": None,
            "exit_code": None,
            "signal": None,
            "pid": os.getpid(),
            "child_pid": pid,
            "hostname": socket.gethostname(),
            "tmux_session": spec.get("tmux_session"),
            "stop_requested_at": None,
            "command": spec["argv"],
            "log_bytes_lost": 0,
            # A sweep member keeps its sweep's tag (docs/status-file.md), written by Expdesk while it queued.
            **({"sweep": spec["sweep"]} if isinstance(spec.get("sweep"), dict) else {}),
        },
    )
    if refused is None and not status.update(sync=False):
        refused = "expdesk: cannot write %s\n" % status.path
    if refused is not None:
        sys.stderr.write(refused)
        abandon(pid)
        if record_file:
            try:
                os.unlink(record_file)
            except OSError:
                pass
        return 1
    trace(spec, "status written")

    def on_winch(_signum, _frame):
        try:
            ws = fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(fd, termios.TIOCSWINSZ, ws)
            os.killpg(pid, signal.SIGWINCH)
        except OSError:
            pass

    signal.signal(signal.SIGWINCH, on_winch)
    samplers = start_sampler(exp_dir, pid, say, spec)

    stdin_fd = None
    old_tty = None
    if os.isatty(0):
        stdin_fd = 0
        try:
            old_tty = termios.tcgetattr(0)
            tty.setraw(0)
        except termios.error:
            old_tty = None

    echo = True
    first_output = True
    exit_status = None
    exited_at = None
    last_data = time.monotonic()
    last_flush = time.monotonic()
    try:
        while True:
            # A status write that failed (full disk), or a loss not yet recorded: retry now and then.
            if (status.pending or status.data.get("log_bytes_lost") != log.lost) and \
                    time.monotonic() - last_flush > 1.0:
                last_flush = time.monotonic()
                status.data["log_bytes_lost"] = log.lost
                status.data["log_error"] = log.error
                status.update()
            if stop.get("terminate") and exit_status is None:
                stop["terminate"] = False
                try:
                    os.killpg(pid, signal.SIGTERM)
                except OSError:
                    pass
            # Stop escalation: SIGINT, then SIGTERM, then SIGKILL to the process group.
            if stop["requested"] is not None and exit_status is None:
                elapsed = time.monotonic() - stop["requested"]
                step = 0 if elapsed < int_timeout else 1 if elapsed < int_timeout + term_timeout else 2
                while stop["sent"] <= step:
                    sig = (signal.SIGINT, signal.SIGTERM, signal.SIGKILL)[stop["sent"]]
                    if stop["sent"] == 0:
                        status.update(stop_requested_at=now_iso())
                    try:
                        os.killpg(pid, sig if not (stop["hangup"] and stop["sent"] == 0) else signal.SIGHUP)
                    except OSError:
                        pass
                    stop["sent"] += 1

            fds = [fd] + ([stdin_fd] if stdin_fd is not None else [])
            try:
                ready, _, _ = select.select(fds, [], [], 0.1)
            except InterruptedError:
                continue
            if fd in ready:
                try:
                    data = os.read(fd, 65536)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise
                    data = b""
                if not data:
                    break  # every writer closed the terminal
                log.write(data)
                if first_output:
                    first_output = False
                    trace(spec, "first output in train.log")
                last_data = time.monotonic()
                if echo:
                    try:
                        os.write(1, data)
                    except OSError:
                        echo = False  # our terminal is gone; the log still gets everything
            if stdin_fd is not None and stdin_fd in ready:
                try:
                    data = os.read(stdin_fd, 4096)
                    if data:
                        os.write(fd, data)
                    else:
                        stdin_fd = None
                except OSError:
                    stdin_fd = None
            if exit_status is None:
                done, st = os.waitpid(pid, os.WNOHANG)
                if done:
                    exit_status = st
                    exited_at = time.monotonic()
            # Descendants may keep the terminal open after the command exits:
            # give them a moment of silence, then stop reading.
            if exited_at is not None and time.monotonic() - max(exited_at, last_data) > 1.0:
                break
    finally:
        for sampler in samplers:
            sampler.stop()
        log.close()
        if old_tty is not None:
            try:
                termios.tcsetattr(0, termios.TCSADRAIN, old_tty)
            except termios.error:
                pass

    if exit_status is None:
        _, exit_status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(exit_status)
    sig_name = None
    if code < 0:
        try:
            sig_name = signal.Signals(-code).name
        except ValueError:
            sig_name = "signal %d" % -code

    lost_note = ""
    if log.lost:
        lost_note = "%d bytes of the output are missing from logs/train.log (%s)." % (log.lost, log.error)
        say("expdesk: " + lost_note)
    if stop["requested"] is not None:
        state = "stopped"
    elif code == 0:
        state = "completed"
    else:
        state = "failed"
        describe = "Killed by %s." % sig_name if sig_name else "Exited with code %d." % code
        if lost_note:
            describe += " " + lost_note
        text = "Failed at step %d\n" % last_step(metrics_path) + failure_text(log_path, describe)
        try:
            if failed_before or not os.path.isfile(failed_path):
                write_atomic(failed_path, text.encode("utf-8"))
        except OSError as e:
            say("expdesk: cannot write FAILED.txt (%s); the status file records the failure" % e.strerror)

    # The end must be recorded: the status file's spare makes that work on a full disk; retry a while if not.
    ended = status.update(state=state, ended_at=now_iso(), exit_code=code if code >= 0 else None,
                          signal=sig_name, log_bytes_lost=log.lost, log_error=log.error)
    deadline = time.monotonic() + 30
    while not ended and time.monotonic() < deadline:
        time.sleep(1)
        ended = status.flush()
    if ended:
        status.remove_spares()
        if record_file:
            try:
                os.unlink(record_file)
            except OSError:
                pass
    else:
        say("expdesk: cannot write %s: the run's end is not recorded" % status.path)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
