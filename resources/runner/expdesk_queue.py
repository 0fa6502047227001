#!/usr/bin/env python3
"""Expdesk's sweep queue: starts the members of a local sweep, N at a time.

Started by Expdesk as a process of its own session (it outlives the expdesk
command and the window), with the path of the sweep's queue file in Expdesk's
state folder (never in an experiment folder). The queue file lists, in order,
each member's experiment folder (already made, with its frozen config and
capture, and a status file saying "queued") and the spec its run wrapper
(expdesk_run.py, beside this file) is started with.

  * At most max_parallel members run at once. A member is started only while
    its status file still says "queued" (a member stopped by the user while
    it waited is skipped). It runs in a tmux session of its own where tmux is
    used (attachable like any run), else in a session of its own.
  * A member has ended when its status file says so, or when its tmux session
    or process is gone (a wrapper that died: Expdesk settles that run).
  * With `gpus`, each running member gets one of them as CUDA_VISIBLE_DEVICES.
  * SIGTERM (Expdesk's "stop the sweep") ends the queue before it starts
    another member; Expdesk then stops the running members and marks the
    queued ones stopped.
  * It records itself (pid, start time, process group) in runner.json beside
    the queue file, so Expdesk signals it only while it is this process.

Python standard library only.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from expdesk_run import boot_id, now_iso, proc_identity, write_atomic, write_record  # noqa: E402

ENDED = ("completed", "failed", "stopped")


def read_status(exp_dir):
    try:
        with open(os.path.join(exp_dir, "expdesk_status.json"), "rb") as f:
            value = json.loads(f.read(1024 * 1024))
        return value if isinstance(value, dict) else None
    except (OSError, ValueError):
        return None


def tmux_alive(session):
    return subprocess.run(["tmux", "has-session", "-t", "=" + session], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def mark_failed(member, why):
    """A member whose wrapper could not start: its folder says so (status file and FAILED.txt)."""
    exp_dir = member["exp_dir"]
    status = read_status(exp_dir) or {}
    stamp = now_iso()
    status.update({"schema": "expdesk.status/1", "state": "failed", "ended_at": stamp, "updated_at": stamp,
                   "failure": why})
    try:
        write_atomic(os.path.join(exp_dir, "FAILED.txt"), ("Failed at step 0\n%s\n" % why).encode())
        write_atomic(os.path.join(exp_dir, "expdesk_status.json"), (json.dumps(status, indent=2) + "\n").encode())
    except OSError as e:
        sys.stderr.write("expdesk-queue: cannot record the failure of %s: %s\n" % (exp_dir, e))


class Queue:
    def __init__(self, path):
        with open(path) as f:
            self.q = json.load(f)
        self.dir = os.path.dirname(os.path.abspath(path))
        self.stop = False
        self.running = {}  # index -> {"slot": n, "proc": Popen or None}

    def start(self, index, slot):
        m = self.q["members"][index]
        with open(m["spec"]) as f:
            spec = json.load(f)
        gpus = self.q.get("gpus")
        if gpus:
            spec["env"]["CUDA_VISIBLE_DEVICES"] = gpus[slot]
        write_record(m["spec"], spec)  # 0600 in the private queue folder; the wrapper deletes it on read
        argv = [self.q["python"], self.q["wrapper"], m["spec"]]
        proc = None
        if m.get("tmux_session"):
            r = subprocess.run(["tmux", "new-session", "-d", "-s", m["tmux_session"], "-x", "160", "-y", "50",
                                "-c", spec["cwd"], "--"] + argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if r.returncode != 0:
                mark_failed(m, "the sweep could not start its run wrapper: tmux said: %s"
                            % r.stdout.decode("utf-8", "replace").strip())
                return
        else:
            proc = subprocess.Popen(argv, cwd=spec["cwd"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL, start_new_session=True)
        # Started once the wrapper has replaced "queued" (it writes its status file first thing).
        deadline = time.monotonic() + 30
        while (read_status(m["exp_dir"]) or {}).get("state") == "queued":
            gone = proc.poll() is not None if proc else not tmux_alive(m["tmux_session"])
            if gone or time.monotonic() > deadline:
                mark_failed(m, "the sweep's run wrapper %s" % ("exited before the run started" if gone
                                                                 else "did not start within 30 s"))
                return
            time.sleep(0.1)
        self.running[index] = {"slot": slot, "proc": proc}

    def ended(self, index):
        m = self.q["members"][index]
        if (read_status(m["exp_dir"]) or {}).get("state") in ENDED:
            return True
        if os.path.exists(os.path.join(m["exp_dir"], "FAILED.txt")):
            return True
        proc = self.running[index]["proc"]
        return proc.poll() is not None if proc else not tmux_alive(m["tmux_session"])

    def run(self):
        waiting = list(range(len(self.q["members"])))
        slots = list(range(max(1, int(self.q["max_parallel"]))))
        while (waiting or self.running) and not self.stop:
            if os.path.exists(os.path.join(self.dir, "stop")):  # asked to stop, even if the signal was missed
                break
            for index in [i for i in self.running if self.ended(i)]:
                slots.append(self.running.pop(index)["slot"])
            slots.sort()
            while waiting and slots and not self.stop:
                index = waiting.pop(0)
                if (read_status(self.q["members"][index]["exp_dir"]) or {}).get("state") != "queued":
                    continue  # stopped while it waited
                slot = slots.pop(0)
                self.start(index, slot)
                if index not in self.running:
                    slots.insert(0, slot)  # it could not start: the slot is free again
            time.sleep(0.3)


def main():
    queue_path = sys.argv[1]
    queue = Queue(queue_path)

    def on_term(_signum, _frame):
        queue.stop = True

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    runner_file = os.path.join(queue.dir, "runner.json")
    me = proc_identity(os.getpid())
    record = {"schema": "expdesk.sweep-runner/1", "hostname": socket.gethostname(), "boot_id": boot_id(),
              "runner": me, "started_at": now_iso(), "ended_at": None}
    write_record(runner_file, record)
    try:
        queue.run()
    finally:
        record["ended_at"] = now_iso()
        record["stopped"] = queue.stop
        write_record(runner_file, record)
    return 0


if __name__ == "__main__":
    sys.exit(main())
