/**
 * reproduce.sh for a bundle: unlike the launch-time script (../runs/reproduce.ts),
 * which clones the original repository, it needs nothing but the unpacked
 * bundle, bash and a Python: it lays out source/, applies
 * uncommitted.patch (git apply, else patch -p1), makes a venv and installs
 * requirements.txt (or, with --python, uses that interpreter and reports every
 * package whose version differs), then runs the recorded command on the frozen
 * config with the recorded seed in a new experiment folder, whose path is the
 * last line of its output.
 *
 * The script is a fixed body (BODY, in reproduce-bundle-body.ts) after a header of bash variables
 * holding what the run recorded: the body never changes per bundle, so it can
 * be read and tested once; the header is the only generated part.
 */
import { shellComment, shellQuote } from '../../../shared/shell-quote';
import { BODY } from './reproduce-bundle-body';

export interface BundleScriptSpec {
  name: string;
  gitHash: string;
  /** null when no seed was recorded (a seed-written folder without one in its config). */
  seed: number | null;
  /** The command's folder relative to the repository root ('.' for the root). */
  relativeCwd: string;
  hasSource: boolean;
  /** Why source/ is missing (shown by the script), when it is. */
  sourceMissingReason: string | null;
  /** Files of the commit left out of source/ (over the size limit): the script asks for them. */
  sourceOmitted: string[];
  hasPatch: boolean;
  patchComplete: boolean;
  patchOmitted: string[];
  /** major.minor.patch of the run's Python, when recorded. */
  pythonVersion: string | null;
  /** The recorded command with {config}/{seed} placeholders; null when the run recorded none. */
  commandTemplate: string[] | null;
  /** The seed's metadata "command" (for the message when no template was recorded). */
  recordedCommand: string | null;
  /** Environment variables that change numbers (PYTHONHASHSEED …), as recorded. */
  environment: Record<string, string>;
  generatedAt: string;
  expdeskVersion: string;
}

function bashArray(words: string[]): string {
  return words.length ? `(\n  ${words.map(shellQuote).join('\n  ')}\n)` : '()';
}

export function bundleReproduceScript(s: BundleScriptSpec): string {
  const env = Object.entries(s.environment).map(([k, v]) => `${k}=${v}`);
  const needs = s.hasPatch ? 'bash, Python 3 and git (or patch, for text-only changes)' : 'bash and Python 3';
  const header = `#!/usr/bin/env bash
# reproduce.sh: run ${shellComment(s.name)} again from this bundle alone, with no access
# to the original repository or to Expdesk. Made by Expdesk ${shellComment(s.expdeskVersion)} on ${shellComment(s.generatedAt)}.
# Needs ${needs}; without --python, pip needs the package index.
#
#   bash reproduce.sh                      # new venv + pip install -r requirements.txt
#   bash reproduce.sh --python python3     # this interpreter as it is; version differences reported
#   bash reproduce.sh --help               # every option
#
# The last line of its output is the new experiment folder.
set -euo pipefail
# bash 5.2 would read & in a \${var//pattern/replacement} as "the match".
shopt -u patsub_replacement 2>/dev/null || true

# --- What the run recorded (written by Expdesk when it made the bundle) -------
NAME=${shellQuote(s.name)}
GIT_HASH=${shellQuote(s.gitHash)}
SEED=${s.seed === null ? "''" : String(s.seed)}
REL_CWD=${shellQuote(s.relativeCwd || '.')}
HAS_SOURCE=${s.hasSource ? 1 : 0}
SOURCE_MISSING_REASON=${shellQuote(s.sourceMissingReason ?? '')}
SOURCE_OMITTED=${bashArray(s.sourceOmitted)}
HAS_PATCH=${s.hasPatch ? 1 : 0}
PATCH_COMPLETE=${s.patchComplete ? 1 : 0}
PATCH_OMITTED=${bashArray(s.patchOmitted)}
RECORDED_PYTHON=${shellQuote(s.pythonVersion ?? '')}
RECORDED_COMMAND=${shellQuote(s.recordedCommand ?? '')}
RECORDED_ENV=${bashArray(env)}
# {config} becomes the frozen config's path in the new folder, {seed} the seed.
COMMAND=${bashArray(s.commandTemplate ?? [])}
# -------------------------------------------------------------------------------
`;
  return header + BODY;
}
