/**
 * Groups in the compare view's charts (issue 12): when the table is grouped
 * (its "Group by"), the compared runs are drawn as their groups — each a
 * mean line with a ±std or min–max band, aligned by step by the host
 * (`metrics.groupSeries`, src/shared/group-series.ts). The traces are built
 * by lib/group-bands.ts; Chart draws the bands behind the lines.
 */
import { useEffect, useMemo, useState } from 'react';
import type { RequestResult } from '../../shared/contract';
import type { ExperimentSummary } from '../../shared/model';
import type { Smoothing } from '../../shared/smoothing';
import type { XRange } from './Chart';
import { BAND_LABEL, type ChartGroup } from '../lib/group-bands';
import { groupLabel, runGroups } from '../lib/table-groups';
import { selectGroupBy } from '../store';
import { useExpdesk } from '../store-context';

export interface GroupCurves {
  groups: ChartGroup[];
  /** The host's answer for the shown metrics, in the groups' order; null while asked. */
  data: RequestResult<'metrics.groupSeries'> | null;
  error: string | null;
}

/** The compared runs' groups and their curves; null when the table is not grouped. */
export function useGroupCurves(
  exps: readonly ExperimentSummary[],
  keys: readonly string[],
  view: { xMode: string; range: XRange | null; buckets: number; smoothing: Smoothing | null },
  colorOf: (i: number) => string,
): GroupCurves | null {
  const client = useExpdesk((s) => s.client);
  const groupBy = useExpdesk(selectGroupBy);
  const configIndex = useExpdesk((s) => s.configIndex);
  const band = useExpdesk((s) => s.groupBand);
  const [answer, setAnswer] = useState<{
    data: GroupCurves['data'];
    error: string | null;
    id: string;
  } | null>(null);
  const groups = useMemo(
    () =>
      groupBy.length === 0
        ? null
        : runGroups(exps, groupBy, configIndex).map((g, i): ChartGroup => ({
            label: groupLabel(g.group),
            color: colorOf(i),
            paths: g.members.map((e) => e.path),
          })),
    [exps, groupBy, configIndex, colorOf],
  );
  const { xMode, range, buckets, smoothing } = view;
  const id = JSON.stringify([groups?.map((g) => g.paths), keys, band, range, buckets, smoothing]);
  useEffect(() => {
    if (!groups || keys.length === 0 || xMode !== 'step') return;
    let live = true;
    client
      .invoke('metrics.groupSeries', {
        groups: groups.map((g) => g.paths),
        keys: [...keys],
        band,
        range,
        buckets,
        ...(smoothing ? { smoothing } : {}),
      })
      .then(
        (data) => live && setAnswer({ data, error: null, id }),
        (err: unknown) =>
          live && setAnswer({ data: null, error: err instanceof Error ? err.message : String(err), id }),
      );
    return () => {
      live = false;
    };
    // `id` stands for groups, keys, band, range, buckets and smoothing.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [client, id, xMode]);
  if (!groups) return null;
  const current = answer?.id === id ? answer : null;
  return { groups, data: current?.data ?? null, error: current?.error ?? null };
}

/** "Band: ±std | min–max", and what the groups are. */
export function GroupBandControls({
  curves,
  xMode,
}: {
  curves: GroupCurves;
  xMode: string;
}): React.JSX.Element {
  const band = useExpdesk((s) => s.groupBand);
  const setBand = useExpdesk((s) => s.setGroupBand);
  return (
    <div className="group-controls">
      <div className="segmented" role="group" aria-label="group band">
        {(['std', 'minmax'] as const).map((b) => (
          <button
            key={b}
            type="button"
            className={band === b ? 'active' : ''}
            onClick={() => setBand(b)}
            data-testid={`band-${b}`}
          >
            {BAND_LABEL[b]}
          </button>
        ))}
      </div>
      <span className="muted small" data-testid="group-charts-note">
        {curves.groups.length} group{curves.groups.length === 1 ? '' : 's'}: mean and band
        {xMode !== 'step' && ' — groups are aligned by step: choose Step'}
        {curves.error && ` — ${curves.error}`}
      </span>
      {curves.groups.map((g) => (
        <span key={g.label} className="legend-chip" data-testid="group-legend" title={g.paths.join('\n')}>
          <span className="swatch" style={{ background: g.color }} />
          <span className="ellipsis">
            {g.label} (n={g.paths.length})
          </span>
        </span>
      ))}
    </div>
  );
}
