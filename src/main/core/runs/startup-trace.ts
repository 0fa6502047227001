/**
 * The timeline of a run's start, for measuring it (bench/run-startup.ts):
 * with EXPDESK_STARTUP_TRACE=<file>, each phase appends one JSON line —
 * `{"phase", "t": epoch ms, "pid", "cpu": this process's CPU ms}` — here and
 * in the run wrapper (which gets the file in its spec). Off, it costs one
 * environment lookup.
 */
import { appendFileSync } from 'node:fs';

export function startupTraceFile(): string | null {
  return process.env.EXPDESK_STARTUP_TRACE || null;
}

/** Mark `phase` now, or at `at` (epoch ms; the CPU is then counted from the process's start: 0). */
export function traceStartup(phase: string, at?: number): void {
  const file = startupTraceFile();
  if (!file) return;
  const cpu = process.cpuUsage();
  const line = {
    phase,
    t: at ?? performance.timeOrigin + performance.now(),
    pid: process.pid,
    cpu: at === undefined ? (cpu.user + cpu.system) / 1000 : 0,
  };
  try {
    appendFileSync(file, `${JSON.stringify(line)}\n`);
  } catch {
    // A trace that cannot be written is no reason to fail a run.
  }
}
