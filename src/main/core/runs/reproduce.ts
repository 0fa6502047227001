/** reproduce.sh: the seed's script, made to work without touching the user's checkout. */
import { shellComment, shellJoin, shellQuote } from '../../../shared/shell-quote';

export { shellJoin, shellQuote } from '../../../shared/shell-quote';

export interface ReproduceSpec {
  name: string;
  gitHash: string;
  gitRoot: string | null;
  gitRemote: string | null;
  /** The command's folder relative to the repository root. */
  relativeCwd: string;
  commandTemplate: string[];
  seed: number;
  hasPatch: boolean;
  python: string;
  generatedAt: string;
}

/**
 * One command word as shell text: {seed} becomes the seed, {config} the frozen
 * config's path ("$HERE/config.yaml", expanded by the script), and every other
 * piece is quoted.
 */
function commandWord(word: string, seed: number): string {
  const parts = word.replaceAll('{seed}', String(seed)).split('{config}');
  if (parts.length === 1) return shellQuote(parts[0]!);
  return parts.map((p) => (p ? shellQuote(p) : '')).join('"$HERE/config.yaml"');
}

/**
 * Every value from the run (paths, names, the command) enters the script once,
 * through shellQuote, as the right side of an assignment or as a whole word;
 * the defaults of the optional arguments are assigned in statements of their
 * own, never inside "${1:-…}", where single quotes do not protect.
 */
export function reproduceScript(s: ReproduceSpec): string {
  const command = s.commandTemplate.map((a) => commandWord(a, s.seed)).join(' ');
  const source = s.gitRoot ?? '';
  return `#!/usr/bin/env bash
# Reproduction script for ${shellComment(s.name)}
# Generated: ${shellComment(s.generatedAt)} by Expdesk
#
# Usage: ./reproduce.sh [REPOSITORY] [WORKDIR]
#   REPOSITORY  the project's git repository (default: where it was when the run started)
#   WORKDIR     where to check the code out (default: a new temporary folder);
#               your own checkout is never modified.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
RECORDED_REPO=${shellQuote(source || s.gitRemote || '')}
REL_CWD=${shellQuote(s.relativeCwd || '.')}
GIT_HASH=${shellQuote(s.gitHash)}
REPO="\${1:-$RECORDED_REPO}"
if [ -n "\${2:-}" ]; then WORKDIR="$2"; else WORKDIR="$(mktemp -d)"; fi

if [ "$GIT_HASH" = unknown ] || [ -z "$REPO" ]; then
  echo "reproduce.sh: the run did not record a git commit; run the command by hand:" >&2
  printf '  %s\\n' ${shellQuote(shellJoin(s.commandTemplate))} >&2
  exit 2
fi

# 1. Check out the recorded commit into WORKDIR
git clone --quiet --no-checkout -- "$REPO" "$WORKDIR/src"
git -C "$WORKDIR/src" checkout --quiet --detach "$GIT_HASH"

# 2. Apply the uncommitted changes recorded at launch
${s.hasPatch ? `git -C "$WORKDIR/src" apply --binary --whitespace=nowarn "$HERE/uncommitted.patch"` : '# (the working tree was clean: no patch)'}

# 3. Install dependencies
${shellQuote(s.python)} -m pip install -r "$HERE/requirements.txt"

# 4. Run training on the frozen config with the same seed
cd "$WORKDIR/src/$REL_CWD"
export EXPDESK_SEED=${shellQuote(String(s.seed))} EXPDESK_CONFIG="$HERE/config.yaml" PYTHONUNBUFFERED=1
${command}
`;
}
