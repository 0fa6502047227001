/**
 * The config editor and launch form: the project's config files, the one
 * being edited (its text as saved; the editor owns the text being typed),
 * the core's composition of it (errors with file/line, resolved config, name
 * preview), the overrides and command, and run.start. What the form keeps
 * per workspace and per config, across a reload: ./launch-memory.ts.
 */
import { sbatchOptionsOf } from '../../shared/slurm-fields';
import { splitCommand } from '../lib/command-line';
import { message, type Ctx, type Slice } from './context';
import { EMPTY_CONFIG_MEMORY, LaunchMemory } from './launch-memory';
import type { LaunchSlice, OverrideRow } from './types';

export type { LaunchForm, LaunchSlice, OverrideRow } from './types';

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

/** Nothing open: the state of a workspace's launch view before its configs are listed. */
const NO_CONFIG = {
  configRoot: null,
  configFiles: [],
  configFilesError: null,
  configFile: null,
  configText: null,
  configDirty: false,
  compose: null,
  composedDraft: null,
  configDraft: null,
  composing: false,
  composeError: null,
  ...EMPTY_CONFIG_MEMORY,
  gitState: null,
  gitStateError: null,
  gitCheckedAtLaunch: false,
  launchError: null,
} satisfies Partial<LaunchSlice>;

export function launchSlice(ctx: Ctx): Slice<LaunchSlice> {
  const memory = new LaunchMemory(ctx.storage);
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
    const workspace = (): string => get().info?.workspace ?? get().listing?.root ?? '';
    const rememberForm = (): void => memory.saveForm(workspace(), get());
    /** What the open config's form holds, remembered for that config only. */
    const rememberConfig = (): void => {
      const { configFile, overrides, sweep, maxParallel } = get();
      if (configFile) memory.saveConfig(workspace(), configFile, { overrides, sweep, maxParallel });
    };
    return {
      ...memory.form(''),
      seed: '',
      runName: '',
      ...NO_CONFIG,
      configSaving: false,
      launching: false,

      async openLaunch(file) {
        set({ view: 'launch' });
        get().restoreForm();
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
          // What was made for this config (nothing for a config not seen): never another config's overrides.
          ...memory.config(workspace(), file),
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
        rememberConfig();
        scheduleCompose();
      },

      setLaunchField(patch) {
        set(patch);
        rememberForm();
        if ('sweep' in patch || 'maxParallel' in patch) rememberConfig();
      },

      restoreForm() {
        set(memory.form(workspace()));
      },

      leaveWorkspace() {
        ctx.tickets.configFiles++;
        ctx.tickets.compose++;
        if (composeTimer) clearTimeout(composeTimer);
        composeTimer = null;
        set({ ...NO_CONFIG, ...memory.form(workspace()) });
      },

      setWhere(where) {
        set({ where });
        rememberForm();
      },

      setSlurmField(patch) {
        set({ slurm: { ...get().slurm, ...patch } });
        rememberForm();
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
