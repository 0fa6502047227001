/**
 * Work a process does before it exits (a summary store's unwritten cache
 * entries), registered by the module that has it when that module loads. The
 * CLI's entry runs them without importing those modules itself, so a command
 * that never loads them (run, stop, tail, --version) never pays for their
 * loading. No imports.
 */
const tasks = new Set<() => Promise<void>>();

export function onExit(task: () => Promise<void>): void {
  tasks.add(task);
}

/** Run every registered task; none throws. */
export async function runExitTasks(): Promise<void> {
  await Promise.all([...tasks].map((t) => t().catch(() => undefined)));
}
