/** A stand-in `nvidia-smi` (no GPU here): prints the documented CSV for two GPUs, the second without power. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tmpDir } from './tmp';

/** What `nvidia-smi --query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw --format=csv,noheader,nounits` prints. */
export const TWO_GPUS_CSV = '0, 87, 30512, 40960, 71, 245.31\n1, 12, 1024, 40960, 40, [N/A]\n';

/** A folder holding the stand-in, to put first on PATH; it refuses any other query. */
export function fakeNvidiaSmi(): string {
  const bin = path.join(tmpDir('expdesk-fake-gpu-'), 'bin');
  mkdirSync(bin);
  const file = path.join(bin, 'nvidia-smi');
  writeFileSync(
    file,
    [
      '#!/bin/sh',
      'case "$*" in',
      '  "--query-gpu=index,utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw --format=csv,noheader,nounits")',
      `    printf '${TWO_GPUS_CSV.replace(/\n/g, '\\n')}' ;;`,
      '  *) echo "unexpected arguments: $*" >&2; exit 2 ;;',
      'esac',
      '',
    ].join('\n'),
  );
  chmodSync(file, 0o755);
  return bin;
}
