/**
 * Problems as a user reads them: each distinct problem once (repeats folded
 * into a count, the first line kept), and never in a runtime's words. A
 * RangeError, a stack frame, an `ERR_*` or errno code or JSON.parse's
 * "Unexpected token … at position N" says nothing to someone looking at a
 * folder; each becomes a sentence about the file. Listing, detail and the
 * remote workspace all build summaries through this one function, so they
 * report the same problems for the same files (issue 16).
 */
import type { Problem } from './model';

/** What the runtime says about itself rather than about the file. */
const INTERNAL =
  /\b(RangeError|TypeError|SyntaxError|ReferenceError|InternalError)\b|Maximum call stack|\n\s+at\s|\bERR_[A-Z0-9_]+\b|\bE[A-Z]{2,}\b(?=[:,]| \()|JSON at position|Unexpected (token|end of JSON|non-whitespace)|is not valid JSON|Bad control character|Expected (property name|',' or|double-quoted|':')/;

/** errno codes a user meets, in words. */
const ERRNO_WORDS: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EIO: 'an input/output error (a failing disk or network file system)',
  ENOENT: 'it disappeared while being read',
  EISDIR: 'it is a folder',
  ENOTDIR: 'a part of its path is not a folder',
  EMFILE: 'too many files are open',
  ENFILE: 'too many files are open',
  ESTALE: 'the network file system dropped it (stale handle)',
  ETIMEDOUT: 'reading it timed out',
  ELOOP: 'it is a symbolic link loop',
  ENAMETOOLONG: 'its name is too long',
};

/** The message in plain words: unchanged when it already is, else a sentence about `file`. */
export function plainMessage(file: string, message: string): string {
  if (!INTERNAL.test(message)) return message;
  const errno = /\b(E[A-Z]{2,})\b/.exec(message)?.[1];
  if (errno && ERRNO_WORDS[errno]) return `cannot read ${file}: ${ERRNO_WORDS[errno]}`;
  if (/JSON|Unexpected|Expected|control character/.test(message)) return `${file} is not valid JSON`;
  if (/call stack|RangeError/.test(message)) return `${file} is too deeply nested or too large to read`;
  return `${file} could not be read`;
}

/**
 * Each distinct problem once, in order of first appearance: the same file and
 * message at several lines folds into one entry at the first line, with the
 * number of times in `count` (absent when once).
 */
export function foldProblems(problems: readonly Problem[]): Problem[] {
  const out: Problem[] = [];
  const seen = new Map<string, Problem>();
  for (const p of problems) {
    const message = plainMessage(p.file, p.message);
    const key = `${p.file}\u0000${message}`;
    const had = seen.get(key);
    if (had) {
      had.count = (had.count ?? 1) + (p.count ?? 1);
      continue;
    }
    const one: Problem = { ...p, message };
    seen.set(key, one);
    out.push(one);
  }
  return out;
}

/** "logs/metrics.jsonl:6: message (3 times)": how every text face writes one problem. */
export function problemText(p: Problem): string {
  const where = p.line !== undefined ? `:${p.line}${p.column !== undefined ? `:${p.column}` : ''}` : '';
  const times = p.count !== undefined && p.count > 1 ? ` (${p.count} times)` : '';
  return `${p.file}${where}: ${p.message}${times}`;
}

/** 30 MB, 4 MiB: sizes in messages. */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}
