/** Setting process.env for a test file and putting it back afterwards. */
export function envOverrides(): { set(vars: Record<string, string>): void; restore(): void } {
  const saved: Record<string, string | undefined> = {};
  return {
    set(vars) {
      for (const [k, v] of Object.entries(vars)) {
        if (!(k in saved)) saved[k] = process.env[k];
        process.env[k] = v;
      }
    },
    restore() {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    },
  };
}
