/**
 * YAML that the plain parser (src/shared/plain-yaml.ts) cannot decide, read
 * with the `yaml` package: safely (core schema, unique keys, alias limit),
 * with errors at their line and column. Its own module so that only a config
 * that needs it loads that package (a listing imports it lazily).
 */
import { parseDocument } from 'yaml';
import { yamlTooDeep } from '../../../shared/nesting';
import type { Problem } from '../../../shared/model';
import { isPlainObject, type JsonObject, type Parsed } from './small-file-text';

/** YAML aliases allowed in one document: enough for real configs, too few for an alias bomb. */
const MAX_YAML_ALIASES = 100;

/** A YAML document's mapping, or the problems that stop it being one (`label` names the file). */
export function parseYamlDocument(text: string, label: string): Parsed<JsonObject> {
  // Measured before parsing: deep nesting made the parser exhaust memory and abort the process.
  const deep = yamlTooDeep(text);
  if (deep) {
    return {
      value: null,
      problems: [
        { file: label, line: deep.line, column: deep.column, message: `${label} is ${deep.message}` },
      ],
    };
  }
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true, schema: 'core' });
  const problems: Problem[] = doc.errors.map((e) => ({
    file: label,
    line: e.linePos?.[0]?.line,
    column: e.linePos?.[0]?.col,
    message: e.message.split('\n')[0] ?? e.message,
  }));
  if (problems.length > 0) return { value: null, problems };
  try {
    const value: unknown = doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
    if (value === null || value === undefined) return { value: {}, problems };
    if (!isPlainObject(value)) {
      return {
        value: null,
        problems: [{ file: label, line: 1, message: `${label} is not a mapping of keys` }],
      };
    }
    return { value, problems };
  } catch (err) {
    return { value: null, problems: [{ file: label, message: (err as Error).message }] };
  }
}
