/**
 * A group's header row in the experiment table (issue 12): a caret that
 * collapses its runs, n, the group's key values, and mean ± sample std of
 * final loss and of each final eval key under those columns (the statistics
 * of src/shared/groups.ts, as `expdesk summarize --group-by` prints them).
 * Its checkbox checks every run of the group (for Compare).
 */
import type { GroupStat } from '../../shared/groups';
import type { ColumnDef } from '../lib/columns';
import { formatStat, groupLabel, statTitle, type GroupHeader } from '../lib/table-groups';
import { useExpdeskStore } from '../store-context';

function StatCell({
  cls,
  label,
  stat,
  testId,
}: {
  cls: string;
  label: string;
  stat: GroupStat | undefined;
  testId?: string;
}): React.JSX.Element {
  return (
    <div
      className={cls}
      role="gridcell"
      data-testid={testId}
      title={stat ? statTitle(label, stat) : undefined}
    >
      {formatStat(stat)}
    </div>
  );
}

export function GroupRow(props: {
  group: GroupHeader;
  top: number;
  index: number;
  template: string;
  columns: readonly ColumnDef[];
  checked: ReadonlySet<string>;
}): React.JSX.Element {
  const store = useExpdeskStore();
  const g = props.group;
  const paths = g.members.map((e) => e.path);
  const allChecked = paths.every((p) => props.checked.has(p));
  const label = groupLabel(g.values);
  const evals = Object.entries(g.final_eval);
  const toggle = (): void => store.getState().toggleGroupCollapsed(g.id);
  return (
    <div
      role="row"
      aria-rowindex={props.index + 2}
      aria-expanded={!g.collapsed}
      className="grid-row group-row"
      style={{ transform: `translateY(${props.top}px)`, gridTemplateColumns: props.template }}
      onClick={toggle}
      data-testid="group-row"
      data-group={label}
      data-n={g.members.length}
    >
      <div className="cell check" role="gridcell" onClick={(ev) => ev.stopPropagation()}>
        <input
          type="checkbox"
          checked={allChecked}
          aria-label={`Check the ${g.members.length} runs of ${label} for Compare`}
          data-testid="group-check"
          tabIndex={-1}
          onChange={() => {
            const s = store.getState();
            s.setChecked(allChecked ? s.checked.filter((p) => !paths.includes(p)) : [...s.checked, ...paths]);
          }}
        />
      </div>
      {props.columns.map((c) => {
        const cls = `cell${c.numeric ? ' num' : ''}`;
        if (c.id === 'status')
          return (
            <div key={c.id} className={cls} role="gridcell">
              <span className="group-caret" aria-hidden="true">
                {g.collapsed ? '▸' : '▾'}
              </span>
              <span className="group-n" data-testid="group-n">
                n={g.members.length}
              </span>
            </div>
          );
        if (c.id === 'name')
          return (
            <div key={c.id} className={`${cls} group-label`} role="gridcell" title={label}>
              {label}
            </div>
          );
        if (c.id === 'final_loss')
          return (
            <StatCell key={c.id} cls={cls} label="final loss" stat={g.final_loss} testId="group-final-loss" />
          );
        if (c.id === 'final_eval')
          return (
            <div
              key={c.id}
              className={cls}
              role="gridcell"
              data-testid="group-final-eval"
              title={evals.map(([k, s]) => statTitle(k, s)).join('\n') || undefined}
            >
              {evals.length ? evals.map(([k, s]) => `${k} ${formatStat(s)}`).join(' · ') : '—'}
            </div>
          );
        if (c.id.startsWith('metric:')) {
          const k = c.id.slice(7);
          const stat = k === 'train/loss' ? g.final_loss : g.final_eval[k];
          return <StatCell key={c.id} cls={cls} label={k} stat={stat} />;
        }
        return <div key={c.id} className={cls} role="gridcell" />;
      })}
    </div>
  );
}
