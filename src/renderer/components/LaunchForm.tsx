/**
 * The launch form beside the config editor: the name a launch would get, the
 * overrides, command, interpreter, seed and name fields, the working tree's
 * state (what uncommitted.patch will hold) and the launch button.
 */
import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { flattenConfig } from '../../shared/config-diff';
import { formatConfigValue } from '../format';
import type { OverrideRow } from '../state/launch';
import { useExpdesk } from '../store-context';

/** One labelled text input of the form. */
function TextField(props: {
  label: string;
  hint?: string;
  value: string;
  placeholder?: string;
  onChange: (value: string) => void;
  testId: string;
  narrow?: boolean;
  numeric?: boolean;
}): React.JSX.Element {
  return (
    <label className={props.narrow ? 'field narrow' : 'field'}>
      <span className="field-label">
        {props.label}
        {props.hint && <span className="muted"> {props.hint}</span>}
      </span>
      <input
        type="text"
        inputMode={props.numeric ? 'numeric' : undefined}
        value={props.value}
        placeholder={props.placeholder}
        onChange={(e) => props.onChange(e.target.value)}
        data-testid={props.testId}
        spellCheck={false}
      />
    </label>
  );
}

export default function LaunchForm({ editorText }: { editorText: () => string | null }): React.JSX.Element {
  const s = useExpdesk(
    useShallow((st) => ({
      compose: st.compose,
      overrides: st.overrides,
      setOverrides: st.setOverrides,
      runName: st.runName,
      command: st.command,
      python: st.python,
      seed: st.seed,
      refuseDirty: st.refuseDirty,
      setLaunchField: st.setLaunchField,
      launch: st.launch,
      launching: st.launching,
      launchError: st.launchError,
      configFile: st.configFile,
      configDirty: st.configDirty,
    })),
  );
  const keys = useMemo(
    () => (s.compose?.ok ? Object.keys(flattenConfig(s.compose.config)).sort() : []),
    [s.compose],
  );
  const resolved = useMemo(() => (s.compose?.ok ? flattenConfig(s.compose.config) : {}), [s.compose]);
  const overrideError = s.compose && !s.compose.ok && !s.compose.error.file ? s.compose.error.message : null;
  const setRow = (i: number, patch: Partial<OverrideRow>): void =>
    s.setOverrides(s.overrides.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  const name = s.compose?.ok ? `expNNN_${s.compose.namePreview}` : null;

  return (
    <form
      className="launch-form"
      onSubmit={(e) => {
        e.preventDefault();
        void s.launch(s.configDirty ? editorText() : null);
      }}
    >
      <div className="pane-title">Launch</div>
      <div className="field">
        <span className="field-label">Experiment</span>
        <code className="name-preview" data-testid="name-preview">
          {s.runName.trim() ? s.runName.trim() : (name ?? '—')}
        </code>
      </div>

      <div className="field">
        <span className="field-label">
          Overrides <span className="muted">KEY=VALUE, applied last (+KEY adds a new key)</span>
        </span>
        <datalist id="config-keys">
          {keys.map((k) => (
            <option key={k} value={k} />
          ))}
        </datalist>
        {s.overrides.map((r, i) => (
          <div key={i} className="override-row" data-testid="override-row">
            <input
              type="text"
              list="config-keys"
              value={r.key}
              placeholder="training.lr"
              aria-label="Override key"
              onChange={(e) => setRow(i, { key: e.target.value })}
              data-testid="override-key"
              spellCheck={false}
            />
            <span className="muted">=</span>
            <input
              type="text"
              value={r.value}
              placeholder={
                r.key && resolved[r.key.replace(/^\+\+?/, '')] !== undefined
                  ? formatConfigValue(resolved[r.key.replace(/^\+\+?/, '')])
                  : 'value'
              }
              aria-label="Override value"
              onChange={(e) => setRow(i, { value: e.target.value })}
              data-testid="override-value"
              spellCheck={false}
            />
            <button
              type="button"
              className="icon-btn"
              aria-label="Remove override"
              onClick={() => s.setOverrides(s.overrides.filter((_, j) => j !== i))}
            >
              ×
            </button>
          </div>
        ))}
        <button
          type="button"
          className="btn small"
          onClick={() => s.setOverrides([...s.overrides, { key: '', value: '' }])}
          data-testid="add-override"
        >
          + Override
        </button>
        {overrideError && (
          <div className="field-error" data-testid="override-error">
            {overrideError}
          </div>
        )}
      </div>

      <TextField
        label="Command"
        hint={`{config} = the frozen config’s path`}
        value={s.command}
        onChange={(command) => s.setLaunchField({ command })}
        testId="launch-command"
      />
      <div className="field-row">
        <TextField
          label="Interpreter"
          value={s.python}
          placeholder="from the command"
          onChange={(python) => s.setLaunchField({ python })}
          testId="launch-python"
        />
        <TextField
          label="Seed"
          narrow
          numeric
          value={s.seed}
          placeholder={
            resolved['training.seed'] !== undefined ? formatConfigValue(resolved['training.seed']) : 'config'
          }
          onChange={(seed) => s.setLaunchField({ seed })}
          testId="launch-seed"
        />
      </div>
      <TextField
        label="Name"
        hint="optional, instead of the generated one"
        value={s.runName}
        onChange={(runName) => s.setLaunchField({ runName })}
        testId="launch-name"
      />
      <label className="check-label">
        <input
          type="checkbox"
          checked={s.refuseDirty}
          onChange={(e) => s.setLaunchField({ refuseDirty: e.target.checked })}
        />
        Refuse to launch with uncommitted changes
      </label>
      <GitState />
      {s.launchError && (
        <div className="banner banner-error" role="alert" data-testid="launch-error">
          {s.launchError}
        </div>
      )}
      <button
        type="submit"
        className="btn primary launch-btn"
        disabled={s.launching || !s.configFile || (s.compose !== null && !s.compose.ok)}
        data-testid="launch-button"
      >
        {s.launching ? 'Launching…' : '▶ Launch'}
      </button>
    </form>
  );
}

/** The project's tree as a launch now would record it: clean, or the changes uncommitted.patch will hold. */
function GitState(): React.JSX.Element {
  const s = useExpdesk(
    useShallow((st) => ({
      git: st.gitState,
      error: st.gitStateError,
      refuseDirty: st.refuseDirty,
      reload: st.loadGitState,
      checkedAtLaunch: st.gitCheckedAtLaunch,
    })),
  );
  const recheck = (
    <button type="button" className="btn small" onClick={() => void s.reload()} data-testid="git-recheck">
      Check again
    </button>
  );
  if (s.error)
    return (
      <div className="git-state small muted" data-testid="git-state" data-state="error">
        Could not read the working tree: {s.error} {recheck}
      </div>
    );
  if (!s.git)
    return (
      <p className="git-state small muted" data-testid="git-state" data-state="unknown">
        {s.checkedAtLaunch
          ? 'The remote tree is checked at launch: uncommitted changes are saved with the run as uncommitted.patch.'
          : 'Not in a git repository: the code version cannot be recorded.'}
      </p>
    );
  if (s.git.changed === 0)
    return (
      <div className="git-state small ok" data-testid="git-state" data-state="clean">
        ✓ Clean tree at <code>{s.git.hash.slice(0, 8)}</code> ({s.git.branch}) {recheck}
      </div>
    );
  return (
    <div
      className={`git-state small ${s.refuseDirty ? 'banner-inline-error' : 'warn'}`}
      data-testid="git-state"
      data-state="dirty"
    >
      ⚠ {s.git.changed} uncommitted change{s.git.changed === 1 ? '' : 's'} on {s.git.branch} at{' '}
      <code>{s.git.hash.slice(0, 8)}</code>:{' '}
      {s.refuseDirty
        ? 'the launch will be refused.'
        : 'they will be saved with the run as uncommitted.patch.'}{' '}
      {recheck}
      <ul className="git-changes mono">
        {s.git.changes.slice(0, 8).map((c) => (
          <li key={c}>{c}</li>
        ))}
        {s.git.changed > 8 && <li className="muted">… and {s.git.changed - 8} more</li>}
      </ul>
    </div>
  );
}
