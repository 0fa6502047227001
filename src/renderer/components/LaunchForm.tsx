/**
 * The launch form beside the config editor: the name a launch would get, the
 * overrides, command, interpreter, seed and name fields, the working tree's
 * state (what uncommitted.patch will hold) and the launch button.
 */
import { useMemo } from 'react';
import { flattenConfig } from '../../shared/config-diff';
import { formatConfigValue } from '../format';
import { sweepLines, type OverrideRow } from '../state/launch';
import { useExpdesk, useExpdeskPick } from '../store-context';
import { CheckLabel } from './CheckLabel';

/** The launch form's text fields, each kept in the store (and remembered by setLaunchField). */
type LaunchTextKey = 'command' | 'python' | 'seed' | 'runName' | 'maxParallel';

/** One labelled text input of the form, bound to its field of the store. */
function LaunchTextField(props: {
  field: LaunchTextKey;
  label: string;
  hint?: string;
  placeholder?: string;
  testId: string;
  narrow?: boolean;
  numeric?: boolean;
}): React.JSX.Element {
  const value = useExpdesk((st) => st[props.field]);
  const setLaunchField = useExpdesk((st) => st.setLaunchField);
  return (
    <label className={props.narrow ? 'field narrow' : 'field'}>
      <span className="field-label">
        {props.label}
        {props.hint && <span className="muted"> {props.hint}</span>}
      </span>
      <input
        type="text"
        inputMode={props.numeric ? 'numeric' : undefined}
        value={value}
        placeholder={props.placeholder}
        onChange={(e) => setLaunchField({ [props.field]: e.target.value })}
        data-testid={props.testId}
        spellCheck={false}
      />
    </label>
  );
}

/** Sweep axes (one `KEY=v1,v2,…` a line: every combination runs) and how many run at once. */
function SweepField(): React.JSX.Element {
  const sweep = useExpdesk((st) => st.sweep);
  const setLaunchField = useExpdesk((st) => st.setLaunchField);
  const count = sweepLines(sweep).reduce((n, l) => n * Math.max(1, l.split(',').length), 1);
  return (
    <div className="field-row">
      <label className="field">
        <span className="field-label">
          Sweep
          <span className="muted">
            {' '}
            {sweepLines(sweep).length ? `about ${count} runs, one per combination` : 'KEY=v1,v2,… a line'}
          </span>
        </span>
        <textarea
          value={sweep}
          rows={2}
          placeholder="training.lr=1e-4,3e-4"
          onChange={(e) => setLaunchField({ sweep: e.target.value })}
          data-testid="launch-sweep"
          spellCheck={false}
        />
      </label>
      <LaunchTextField
        field="maxParallel"
        label="At most"
        narrow
        numeric
        placeholder="1/GPU"
        testId="launch-max-parallel"
      />
    </div>
  );
}

export default function LaunchForm({ editorText }: { editorText: () => string | null }): React.JSX.Element {
  const s = useExpdeskPick(
    'compose',
    'overrides',
    'setOverrides',
    'runName',
    'refuseDirty',
    'setLaunchField',
    'launch',
    'launching',
    'launchError',
    'configFile',
    'configDirty',
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

      <LaunchTextField
        field="command"
        label="Command"
        hint={`{config} = the frozen config’s path`}
        testId="launch-command"
      />
      <div className="field-row">
        <LaunchTextField
          field="python"
          label="Interpreter"
          placeholder="from the command"
          testId="launch-python"
        />
        <LaunchTextField
          field="seed"
          label="Seed"
          narrow
          numeric
          placeholder={
            resolved['training.seed'] !== undefined ? formatConfigValue(resolved['training.seed']) : 'config'
          }
          testId="launch-seed"
        />
      </div>
      <LaunchTextField
        field="runName"
        label="Name"
        hint="optional, instead of the generated one"
        testId="launch-name"
      />
      <SweepField />
      <CheckLabel checked={s.refuseDirty} onChange={(refuseDirty) => s.setLaunchField({ refuseDirty })}>
        Refuse to launch with uncommitted changes
      </CheckLabel>
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
  const s = useExpdeskPick('gitState', 'gitStateError', 'refuseDirty', 'loadGitState', 'gitCheckedAtLaunch');
  const recheck = (
    <button
      type="button"
      className="btn small"
      onClick={() => void s.loadGitState()}
      data-testid="git-recheck"
    >
      Check again
    </button>
  );
  if (s.gitStateError)
    return (
      <div className="git-state small muted" data-testid="git-state" data-state="error">
        Could not read the working tree: {s.gitStateError} {recheck}
      </div>
    );
  if (!s.gitState)
    return (
      <p className="git-state small muted" data-testid="git-state" data-state="unknown">
        {s.gitCheckedAtLaunch
          ? 'The remote tree is checked at launch: uncommitted changes are saved with the run as uncommitted.patch.'
          : 'Not in a git repository: the code version cannot be recorded.'}
      </p>
    );
  if (s.gitState.changed === 0)
    return (
      <div className="git-state small ok" data-testid="git-state" data-state="clean">
        ✓ Clean tree at <code>{s.gitState.hash.slice(0, 8)}</code> ({s.gitState.branch}) {recheck}
      </div>
    );
  return (
    <div
      className={`git-state small ${s.refuseDirty ? 'banner-inline-error' : 'warn'}`}
      data-testid="git-state"
      data-state="dirty"
    >
      ⚠ {s.gitState.changed} uncommitted change{s.gitState.changed === 1 ? '' : 's'} on {s.gitState.branch} at{' '}
      <code>{s.gitState.hash.slice(0, 8)}</code>:{' '}
      {s.refuseDirty
        ? 'the launch will be refused.'
        : 'they will be saved with the run as uncommitted.patch.'}{' '}
      {recheck}
      <ul className="git-changes mono">
        {s.gitState.changes.slice(0, 8).map((c) => (
          <li key={c}>{c}</li>
        ))}
        {s.gitState.changed > 8 && <li className="muted">… and {s.gitState.changed - 8} more</li>}
      </ul>
    </div>
  );
}
