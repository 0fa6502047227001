/** reproduce.sh: the seed's script, made to work without touching the user's checkout. */

/** Quote one word for a POSIX shell. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function shellJoin(argv: string[]): string {
  return argv.map(shellQuote).join(' ');
}

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

export function reproduceScript(s: ReproduceSpec): string {
  const command = s.commandTemplate
    .map((a) =>
      shellQuote(a).replaceAll('{config}', `'"$HERE/config.yaml"'`).replaceAll('{seed}', String(s.seed)),
    )
    .join(' ')
    // A word that was exactly {config} needs no surrounding quotes.
    .replaceAll(`''"$HERE/config.yaml"''`, '"$HERE/config.yaml"');
  const source = s.gitRoot ?? '';
  return `#!/usr/bin/env bash
# Reproduction script for ${s.name}
# Generated: ${s.generatedAt} by Expdesk
#
# Usage: ./reproduce.sh [REPOSITORY] [WORKDIR]
#   REPOSITORY  the project's git repository (default: where it was when the run started)
#   WORKDIR     where to check the code out (default: a new temporary folder);
#               your own checkout is never modified.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="\${1:-${shellQuote(source || s.gitRemote || '')}}"
WORKDIR="\${2:-$(mktemp -d)}"
GIT_HASH=${shellQuote(s.gitHash)}

if [ "$GIT_HASH" = unknown ] || [ -z "$REPO" ]; then
  echo "reproduce.sh: the run did not record a git commit; run the command by hand:" >&2
  echo "  ${shellJoin(s.commandTemplate).replace(/"/g, '\\"')}" >&2
  exit 2
fi

# 1. Check out the recorded commit into WORKDIR
git clone --quiet --no-checkout "$REPO" "$WORKDIR/src"
git -C "$WORKDIR/src" checkout --quiet --detach "$GIT_HASH"

# 2. Apply the uncommitted changes recorded at launch
${s.hasPatch ? `git -C "$WORKDIR/src" apply --binary --whitespace=nowarn "$HERE/uncommitted.patch"` : '# (the working tree was clean: no patch)'}

# 3. Install dependencies
${shellQuote(s.python)} -m pip install -r "$HERE/requirements.txt"

# 4. Run training on the frozen config with the same seed
cd "$WORKDIR/src/${s.relativeCwd}"
export EXPDESK_SEED=${s.seed} EXPDESK_CONFIG="$HERE/config.yaml" PYTHONUNBUFFERED=1
${command}
`;
}
