/**
 * What changed between two environments: the packages of two
 * requirements.txt files (what `pip freeze` writes, as the seed's
 * save_environment records it), matched by name normalised as PEP 503 says
 * (runs of "-", "_", "." become "-", lower case), so `Torch_Vision` and
 * `torchvision`… and `typing-extensions` and `typing_extensions` are one
 * package. A pin is `name==version` (or `===`); anything else pip freeze
 * writes — `name @ file:///…`, `-e git+…#egg=name`, a range — is kept as its
 * text after the name, so a change from a pin to a local build still shows.
 */

export interface Requirement {
  /** Normalised (PEP 503). */
  name: string;
  /** The name as written. */
  display: string;
  /** The pinned version, or the text after the name when it is not a pin (may be ''). */
  version: string;
  /** The 1-based line it came from. */
  line: number;
}

export interface PackageChange {
  name: string;
  from: string;
  to: string;
}

export interface RequirementsDiff {
  added: Array<{ name: string; version: string }>;
  removed: Array<{ name: string; version: string }>;
  changed: PackageChange[];
  /** Packages with the same version on both sides. */
  unchanged: number;
  /** Lines of either file that name no package (options such as --index-url), with file side and line. */
  skipped: Array<{ side: 'a' | 'b'; line: number; text: string }>;
}

/** PEP 503: `re.sub(r"[-_.]+", "-", name).lower()`. */
export function normalizePackageName(name: string): string {
  return name.replace(/[-_.]+/g, '-').toLowerCase();
}

const NAME = /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*(.*)$/;
const EGG = /[#&]egg=([A-Za-z0-9][A-Za-z0-9._-]*)/;

/** One requirement line (comments and markers stripped), or null when it names no package. */
function parseLine(raw: string, line: number): Requirement | null {
  let text = raw.replace(/(^|\s)#.*$/, '').trim();
  if (!text) return null;
  if (/^(-e|--editable)\s/.test(text)) {
    const egg = EGG.exec(text);
    if (!egg) return null;
    return { name: normalizePackageName(egg[1]!), display: egg[1]!, version: text, line };
  }
  if (text.startsWith('-')) return null;
  text = text.replace(/\s*;.*$/, ''); // environment markers
  const m = NAME.exec(text);
  if (!m) return null;
  const rest = m[3]!.trim();
  const pin = /^===?\s*(\S+)$/.exec(rest);
  return { name: normalizePackageName(m[1]!), display: m[1]!, version: pin ? pin[1]! : rest, line };
}

/** The packages of a requirements file, by normalised name (the last line for a name wins, as pip's would clash). */
export function parseRequirements(text: string): {
  packages: Map<string, Requirement>;
  skipped: Array<{ line: number; text: string }>;
} {
  const packages = new Map<string, Requirement>();
  const skipped: Array<{ line: number; text: string }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const r = parseLine(raw, i + 1);
    if (r) packages.set(r.name, r);
    else if (raw.trim() && !raw.trim().startsWith('#')) skipped.push({ line: i + 1, text: raw.trim() });
  });
  return { packages, skipped };
}

/** Packages added (in b only), removed (in a only) and changed, each sorted by name. */
export function diffRequirements(a: string, b: string): RequirementsDiff {
  const pa = parseRequirements(a);
  const pb = parseRequirements(b);
  const out: RequirementsDiff = { added: [], removed: [], changed: [], unchanged: 0, skipped: [] };
  for (const [name, r] of pa.packages) {
    const o = pb.packages.get(name);
    if (!o) out.removed.push({ name: r.display, version: r.version });
    else if (o.version !== r.version) out.changed.push({ name: o.display, from: r.version, to: o.version });
    else out.unchanged++;
  }
  for (const [name, r] of pb.packages)
    if (!pa.packages.has(name)) out.added.push({ name: r.display, version: r.version });
  const byName = (x: { name: string }, y: { name: string }): number =>
    normalizePackageName(x.name) < normalizePackageName(y.name) ? -1 : 1;
  out.added.sort(byName);
  out.removed.sort(byName);
  out.changed.sort(byName);
  out.skipped = [
    ...pa.skipped.map((s) => ({ side: 'a' as const, ...s })),
    ...pb.skipped.map((s) => ({ side: 'b' as const, ...s })),
  ];
  return out;
}
