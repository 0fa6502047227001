/**
 * `expdesk tag EXP… +baseline -old`, `expdesk note EXP "text"`,
 * `expdesk star EXP…`, `expdesk archive EXP…`: the user's notes on runs,
 * written into each experiment's expdesk_notes.json (atomically) through its
 * backend — the one write into an experiment folder, and only on request.
 */
import type { Command } from 'commander';
import { parseTagEdits, type AnnotationChange, type Annotations } from '../shared/annotations';
import { jsonText } from '../shared/terminal-text';
import { CliError } from './errors';

async function annotate(dirs: string[], change: AnnotationChange): Promise<Annotations[]> {
  if (dirs.length === 0) throw new CliError('give at least one experiment folder');
  // Loaded here, not with the command list: the entry stays light for the commands that need none of it.
  const [{ mapByBackend }, { cliBackends }] = await Promise.all([
    import('../main/core/backend/resolve'),
    import('./backends'),
  ]);
  return mapByBackend(dirs, cliBackends(), (backend, locations) => backend.annotate(locations, change));
}

function described(dirs: string[], list: Annotations[], json: boolean | undefined): string {
  if (json) return jsonText(dirs.map((d, i) => ({ path: d, ...list[i]! })));
  return dirs
    .map((d, i) => {
      const a = list[i]!;
      const flags = [a.starred ? '★ starred' : '', a.archived ? 'archived' : ''].filter(Boolean).join(', ');
      const tags = a.tags.length ? a.tags.map((t) => `#${t}`).join(' ') : '(no tags)';
      return `${d}: ${tags}${flags ? `  [${flags}]` : ''}${a.note ? `\n  note: ${a.note.split('\n')[0]}` : ''}`;
    })
    .join('\n');
}

/** The words of `tag`: experiment folders, then edits starting with + or - (commander passes -old through). */
export async function tagCommand(words: string[], opts: { json?: boolean }): Promise<string> {
  const dirs = words.filter((w) => !/^[+-]/.test(w));
  const { change, problem } = parseTagEdits(words.filter((w) => /^[+-]/.test(w)));
  if (problem) throw new CliError(problem);
  if (!change.addTags?.length && !change.removeTags?.length) {
    throw new CliError('give tag edits: +TAG adds, -TAG removes (expdesk tag EXP… +baseline -old)');
  }
  return described(dirs, await annotate(dirs, change), opts.json);
}

export function registerAnnotateCommands(program: Command, print: (text: string) => void): void {
  program
    .command('tag')
    .description('add (+TAG) and remove (-TAG) tags of experiments: expdesk tag EXP… +baseline -old')
    .argument('<EXP_AND_EDITS...>', 'experiment folders, then +TAG / -TAG')
    .option('--json', 'machine-readable output')
    .allowUnknownOption(true)
    .action(async (words: string[], opts: { json?: boolean }, cmd: Command) => {
      // An unknown "option" such as -old is a tag removal: commander leaves it in cmd.args.
      const all = [...new Set([...words, ...cmd.args])].filter((w) => w !== '--json');
      print(await tagCommand(all, opts));
    });

  program
    .command('note')
    .description("set an experiment's note (an empty text clears it)")
    .argument('<EXP_DIR>', 'experiment folder')
    .argument('<TEXT>', 'the note')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, text: string, opts: { json?: boolean }) =>
      print(described([dir], await annotate([dir], { note: text }), opts.json)),
    );

  program
    .command('star')
    .description('star experiments (--undo: unstar); filter the table with `starred`')
    .argument('<EXP_DIR...>', 'experiment folders')
    .option('--undo', 'remove the star')
    .option('--json', 'machine-readable output')
    .action(async (dirs: string[], opts: { undo?: boolean; json?: boolean }) =>
      print(described(dirs, await annotate(dirs, { starred: !opts.undo }), opts.json)),
    );

  program
    .command('archive')
    .description(
      'archive experiments: hidden in the table unless the filter says `archived` (--undo: restore)',
    )
    .argument('<EXP_DIR...>', 'experiment folders')
    .option('--undo', 'restore from the archive')
    .option('--json', 'machine-readable output')
    .action(async (dirs: string[], opts: { undo?: boolean; json?: boolean }) =>
      print(described(dirs, await annotate(dirs, { archived: !opts.undo }), opts.json)),
    );
}
