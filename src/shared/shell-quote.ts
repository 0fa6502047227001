/**
 * The one way Expdesk puts a value into generated shell text (reproduce.sh,
 * the bundle's reproduce.sh, README command lines): POSIX single quotes, where
 * nothing is special, with each ' written as '\''. The result is one word in
 * sh, bash, dash and zsh whatever the value holds — spaces, quotes, $(…),
 * backticks, newlines. Values are only ever placed as whole words or as the
 * right side of an assignment, never inside "…" or ${…:-…}.
 */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Quote every word and join them with spaces: a command line that runs argv as it is. */
export function shellJoin(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** Text for a `# …` comment line: no line breaks or other control characters can end the comment. */
export function shellComment(s: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is replaced
  return s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, ' ');
}
