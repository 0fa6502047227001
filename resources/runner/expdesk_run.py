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
    (the last step in logs/metrics.jsonl) and the traceback from the log;
  * on SIGUSR1 (Expdesk's "stop") sends SIGINT, then SIGTERM, then SIGKILL
    to the command's process group, with timeouts, and records "stopped".

Python standard library only, so it runs on any machine with Python 3,
including remote GPU boxes where nothing else is installed.
"""
import errno
import fcntl
import json
import os
import pty
import re
import select
import signal
import socket
import struct
import sys
import termios
import time
import tty
from datetime import datetime

SCHEMA = "expdesk.status/1"
TRACEBACK_HEAD = b"Traceback (most recent call last):"
ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def now_iso():
    # The seed's timestamps: datetime.now().isoformat(), local time.
    return datetime.now().isoformat()


def write_atomic(path, data):
    tmp = "%s.tmp-%d" % (path, os.getpid())
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Status:
    def __init__(self, path, base):
        self.path = path
        self.data = dict(base)

    def update(self, **changes):
        self.data.update(changes)
        self.data["updated_at"] = now_iso()
        write_atomic(self.path, (json.dumps(self.data, indent=2) + "\n").encode())


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
    tail = ANSI.sub(b"", read_tail(log_path)).replace(b"\r\n", b"\n")
    at = tail.rfind(TRACEBACK_HEAD)
    if at >= 0:
        text = tail[at:].decode("utf-8", "replace").rstrip() + "\n"
        return text
    lines = [l.split(b"\r")[-1] for l in tail.split(b"\n")]
    last = b"\n".join(lines[-40:]).decode("utf-8", "replace").strip()
    return "%s\nNo Python traceback in the log; its last lines:\n%s\n" % (describe, last)


def main():
    spec_path = sys.argv[1]
    with open(spec_path) as f:
        spec = json.load(f)
    try:
        os.unlink(spec_path)  # it holds the run's environment; nothing else needs it
    except OSError:
        pass

    exp_dir = spec["exp_dir"]
    log_path = os.path.join(exp_dir, "logs", "train.log")
    metrics_path = os.path.join(exp_dir, "logs", "metrics.jsonl")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    # Opened before the status file says "running": whoever sees the run started
    # finds its log (and does not fall back to the script's own train_rank0.log).
    log = open(log_path, "ab", buffering=0)
    int_timeout, term_timeout = spec.get("stop_timeouts", [10.0, 10.0])

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
            "child_pid": None,
            "hostname": socket.gethostname(),
            "tmux_session": spec.get("tmux_session"),
            "stop_requested_at": None,
            "command": spec["argv"],
        },
    )
    status.update()

    stop = {"requested": None, "hangup": False}

    def on_stop(signum, _frame):
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
            os.execvpe(spec["argv"][0], spec["argv"], spec["env"])
        except BaseException as e:  # noqa: B902 - report anything, then exit like a shell would
            os.write(2, ("expdesk: cannot start %s: %s\n" % (spec["argv"][0], e)).encode())
        os._exit(127)

    status.update(child_pid=pid)

    def on_winch(_signum, _frame):
        try:
            ws = fcntl.ioctl(1, termios.TIOCGWINSZ, b"\0" * 8)
            fcntl.ioctl(fd, termios.TIOCSWINSZ, ws)
            os.killpg(pid, signal.SIGWINCH)
        except OSError:
            pass

    signal.signal(signal.SIGWINCH, on_winch)

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
    exit_status = None
    exited_at = None
    last_data = time.monotonic()
    try:
        while True:
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

    if stop["requested"] is not None:
        state = "stopped"
    elif code == 0:
        state = "completed"
    else:
        state = "failed"
        describe = "Killed by %s." % sig_name if sig_name else "Exited with code %d." % code
        text = "Failed at step %d\n" % last_step(metrics_path) + failure_text(log_path, describe)
        write_atomic(os.path.join(exp_dir, "FAILED.txt"), text.encode("utf-8"))

    status.update(
        state=state,
        ended_at=now_iso(),
        exit_code=code if code >= 0 else None,
        signal=sig_name,
    )
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main())
