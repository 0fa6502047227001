#!/usr/bin/env node
// The naive floor of a listing (bench/listing.ts): read and parse the same
// three files of every experiment under DIR/experiments, one after another,
// with the same yaml package, and print how many there were. No cache, no
// status, no checks: what any listing must at least do.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

const dir = path.join(process.argv[2], 'experiments');
let n = 0;
for (const name of readdirSync(dir)) {
  const exp = path.join(dir, name);
  parse(readFileSync(path.join(exp, 'config.yaml'), 'utf8'));
  JSON.parse(readFileSync(path.join(exp, 'metadata.json'), 'utf8'));
  for (const line of readFileSync(path.join(exp, 'logs', 'metrics.jsonl'), 'utf8').split('\n')) {
    try {
      if (line) JSON.parse(line);
    } catch {
      // a malformed line (the seed's exp004 has one) is skipped
    }
  }
  n++;
}
process.stdout.write(`${n}\n`);
