/** Reading files as the seed's Python code would: what Expdesk writes must stay readable there. */
import { spawnSync } from 'node:child_process';

/** Every line of a JSONL file as Python's json module reads it. */
export function pythonLines(file: string): Array<Record<string, unknown>> {
  const out = spawnSync(
    'python3',
    ['-c', 'import json,sys; print(json.dumps([json.loads(l) for l in open(sys.argv[1])]))', file],
    { encoding: 'utf8' },
  );
  if (out.status !== 0) throw new Error(`python3 could not read ${file} line by line: ${out.stderr}`);
  return JSON.parse(out.stdout) as Array<Record<string, unknown>>;
}
