/**
 * The config editor and launch form: the project's config files, the one
 * being edited (its text as saved; the editor owns the text being typed),
 * the core's composition of it (errors with file/line, resolved config, name
 * preview), the overrides and command, and run.start.
 */
import { EMPTY_SLURM_FIELDS, sbatchOptionsOf, type SlurmFields } from '../../shared/slurm-fields';
import { splitCommand } from '../lib/command-line';
import { readJson, writeJson } from '../lib/recent';
import { message, PREF, type Ctx, type Slice } from './context';
import type { LaunchForm, LaunchSlice, OverrideRow } from './types';

export type { LaunchForm, LaunchSlice, OverrideRow } from './types';

const DEFAULT_FORM: LaunchForm = {
  command: 'python3 train.py {config}',
  python: '',
  seed: '',
  runName: '',
  refuseDirty: false,
  sweep: '',
  maxParallel: '',
  where: 'local',
  slurm: EMPTY_SLURM_FIELDS,
};

type RememberedWhere = Record<string, { where?: unknown; slurm?: unknown }>;

/** A remembered "where" of one workspace, read defensively (localStorage is the user's to edit). */
function whereOf(
  saved: RememberedWhere | null,
  workspace: string | null | undefined,
): Pick<LaunchForm, 'where' | 'slurm'> {
  const entry = workspace ? saved?.[workspace] : undefined;
  const slurm = { ...EMPTY_SLURM_FIELDS };
  if (entry && typeof entry.slurm === 'object' && entry.slurm !== null)
    for (const k of Object.keys(slurm) as Array<keyof SlurmFields>) {
      const v = (entry.slurm as Record<string, unknown>)[k];
      if (typeof v === 'string') slurm[k] = v;
    }
  return { where: entry?.where === 'slurm' ? 'slurm' : 'local', slurm };
}

function isForm(v: unknown): v is Partial<LaunchForm> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The sweep field's axes: one `KEY=v1,v2,…` a line, blank lines left out. */
export function sweepLines(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

/** KEY=VALUE strings for the rows that have a key. */
export function overrideStrings(rows: readonly OverrideRow[]): string[] {
  return rows.filter((r) => r.key.trim()).map((r) => `${r.key.trim()}=${r.value}`);
}

export function launchSlice(ctx: Ctx): Slice<LaunchSlice> {
  const saved = readJson(ctx.storage, PREF.launch, isForm) ?? {};
  const form: LaunchForm = {
    command: typeof saved.command === 'string' && saved.command ? saved.command : DEFAULT_FORM.command,
    python: typeof saved.python === 'string' ? saved.python : '',
    seed: '',
    runName: '',
    refuseDirty: saved.refuseDirty === true,
    sweep: '',
    maxParallel: '',
    where: 'local',
    slurm: EMPTY_SLURM_FIELDS,
  };
  const isWhere = (v: unknown): v is RememberedWhere =>
    typeof v === 'object' && v !== null && !Array.isArray(v);
  let composeTimer: ReturnType<typeof setTimeout> | null = null;

  return (set, get) => {
    // Typing in the editor or the overrides form: compose once the typing pauses.
    const scheduleCompose = (): void => {
      if (composeTimer) clearTimeout(composeTimer);
      composeTimer = setTimeout(() => {
        composeTimer = null;
        void get().recompose();
      }, 250);
    };
    const rememberWhere = (): void => {
      const workspace = get().info?.workspace;
      if (!workspace) return;
      const all = readJson(ctx.storage, PREF.launchWhere, isWhere) ?? {};
      writeJson(ctx.storage, PREF.launchWhere, {
        ...all,
        [workspace]: { where: get().where, slurm: get().slurm },
      });
    };
    return {
      ...form,
      configRoot: null,
      configFiles: [],
      configFilesError: null,
      configFile: null,
      configText: null,
      configDirty: false,
      configSaving: false,
      compose: null,
      composedDraft: null,
      configDraft: null,
      composing: false,
      composeError: null,
      overrides: [],
      gitState: null,
      gitStateError: null,
      gitCheckedAtLaunch: false,
      launching: false,
      launchError: null,

      async openLaunch(file) {
        set({ view: 'launch' });
        get().restoreWhere();
        void get().loadGitState();
        await get().loadConfigFiles();
        const target = file ?? get().configFile ?? get().configFiles[0]?.path;
        if (target && target !== get().configFile) await get().openConfig(target);
      },

      async loadConfigFiles() {
        const ticket = ++ctx.tickets.configFiles;
        try {
          const res = await ctx.client.invoke('config.list', {});
          if (ticket !== ctx.tickets.configFiles) return;
          set({ configRoot: res.root, configFiles: res.files, configFilesError: null });
        } catch (err) {
          if (ticket === ctx.tickets.configFiles) set({ configFilesError: message(err) });
        }
      },

      async openConfig(file) {
        set({
          configFile: file,
          configText: null,
          configDirty: false,
          configDraft: null,
          compose: null,
          composedDraft: null,
          composeError: null,
        });
        try {
          const { text } = await ctx.client.invoke('config.read', { file });
          if (get().configFile !== file) return;
          set({ configText: text });
          await get().recompose();
        } catch (err) {
          if (get().configFile === file) set({ composeError: message(err) });
        }
      },

      setConfigDirty(dirty) {
        if (get().configDirty !== dirty) set({ configDirty: dirty });
      },

      setConfigDraft(text) {
        const draft = text === get().configText ? null : text;
        if (draft === get().configDraft) return;
        set({ configDraft: draft });
        scheduleCompose();
      },

      async saveConfig(text) {
        const file = get().configFile;
        if (!file) return false;
        set({ configSaving: true });
        try {
          await ctx.client.invoke('config.write', { file, text });
          if (get().configFile === file) set({ configText: text, configDirty: false, configDraft: null });
          void get().loadGitState();
          await get().recompose();
          return true;
        } catch (err) {
          get().toast('error', `Could not save: ${message(err)}`);
          return false;
        } finally {
          set({ configSaving: false });
        }
      },

      async recompose() {
        const file = get().configFile;
        if (!file) return;
        const ticket = ++ctx.tickets.compose;
        const draft = get().configDraft;
        set({ composing: true });
        try {
          const compose = await ctx.client.invoke('config.compose', {
            file,
            overrides: overrideStrings(get().overrides),
            ...(draft !== null ? { text: draft } : {}),
          });
          if (ticket === ctx.tickets.compose)
            set({ compose, composedDraft: draft, composing: false, composeError: null });
        } catch (err) {
          if (ticket === ctx.tickets.compose) set({ composing: false, composeError: message(err) });
        }
      },

      async loadGitState() {
        try {
          const { git, checkedAtLaunch } = await ctx.client.invoke('project.git', {});
          set({ gitState: git, gitStateError: null, gitCheckedAtLaunch: checkedAtLaunch });
        } catch (err) {
          set({ gitState: null, gitStateError: message(err) });
        }
      },

      setOverrides(rows) {
        set({ overrides: rows });
        scheduleCompose();
      },

      setLaunchField(patch) {
        set(patch);
        const s = { ...get(), ...patch };
        writeJson(ctx.storage, PREF.launch, {
          command: s.command,
          python: s.python,
          refuseDirty: s.refuseDirty,
        });
      },

      restoreWhere() {
        set(whereOf(readJson(ctx.storage, PREF.launchWhere, isWhere), get().info?.workspace));
      },

      setWhere(where) {
        set({ where });
        rememberWhere();
      },

      setSlurmField(patch) {
        set({ slurm: { ...get().slurm, ...patch } });
        rememberWhere();
      },

      async launch(editorText) {
        // First, while the click still counts as a user gesture.
        get().askNotificationPermission();
        const s = get();
        const file = s.configFile;
        if (!file) return;
        const { argv, error } = splitCommand(s.command);
        if (error) {
          set({ launchError: `Command: ${error}` });
          return;
        }
        // No free sbatch options is fine (splitCommand refuses an empty command).
        const extra =
          s.where === 'slurm' && s.slurm.extra.trim()
            ? splitCommand(s.slurm.extra)
            : { argv: [], error: null };
        if (extra.error) {
          set({ launchError: `sbatch options: ${extra.error}` });
          return;
        }
        const seedText = s.seed.trim();
        if (seedText && !/^\d+$/.test(seedText)) {
          set({ launchError: 'Seed: a whole number, or empty for the config’s own' });
          return;
        }
        const axes = sweepLines(s.sweep);
        const maxText = s.maxParallel.trim();
        if (axes.length && maxText && !/^[1-9]\d*$/.test(maxText)) {
          set({ launchError: 'At most: a whole number of runs at once, or empty for one per GPU' });
          return;
        }
        set({ launching: true, launchError: null });
        try {
          if (editorText !== null && s.configDirty && !(await get().saveConfig(editorText))) return;
          const composed = get().compose;
          const git = get().gitState;
          if (s.refuseDirty && git && git.changed > 0) {
            set({
              launchError:
                `The working tree has ${git.changed} uncommitted change(s): commit them, ` +
                'or untick “Refuse to launch with uncommitted changes”.',
            });
            return;
          }
          if (composed && !composed.ok) {
            set({ launchError: `The config has an error: ${composed.error.message}` });
            return;
          }
          const params = {
            configFile: file,
            command: argv,
            overrides: overrideStrings(s.overrides),
            ...(seedText ? { seed: Number(seedText) } : {}),
            ...(s.python.trim() ? { python: s.python.trim() } : {}),
            ...(s.runName.trim() ? { name: s.runName.trim() } : {}),
            ...(s.refuseDirty ? { refuseDirty: true } : {}),
            ...(s.where === 'slurm' ? { slurm: { sbatch: sbatchOptionsOf(s.slurm, extra.argv) } } : {}),
          };
          if (axes.length) {
            const sweep = await ctx.client.invoke('run.sweep', {
              ...params,
              sweep: axes,
              ...(maxText ? { maxParallel: Number(maxText) } : {}),
            });
            set({ launchNotes: { expDir: sweep.members[0]!.expDir, warnings: sweep.warnings }, runName: '' });
            get().toast(
              'success',
              `Started ${sweep.sweepId}: ${sweep.members.length} runs, ${sweep.maxParallel} at a time`,
            );
            set({ view: 'experiments' });
            await get().refresh();
            return;
          }
          const started = await ctx.client.invoke('run.start', params);
          const warnings = [...started.warnings];
          if (started.diesWithExpdesk)
            warnings.push('tmux is not available: quitting Expdesk stops this run.');
          set({
            launchNotes: { expDir: started.expDir, warnings },
            runStates: { ...get().runStates, [started.expDir]: s.where === 'slurm' ? 'queued' : 'running' },
            runName: '',
          });
          get().toast(
            'success',
            s.where === 'slurm' ? `Submitted ${started.name} to SLURM` : `Launched ${started.name}`,
          );
          await get().openDetail(started.expDir, 'log');
        } catch (err) {
          set({ launchError: message(err) });
        } finally {
          set({ launching: false });
        }
      },
    };
  };
}
