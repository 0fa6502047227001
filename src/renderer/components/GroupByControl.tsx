/**
 * "Group by" in the table's toolbar (issue 12): any config keys of the
 * table's runs (several at once), or in one click every key that differs
 * except seeds. The choice is remembered per workspace (state/groups.ts).
 */
import { useMemo, useState } from 'react';
import { KEY_CONFIG_KEYS } from '../lib/columns';
import { configKeyChoices } from '../lib/table-groups';
import { selectGroupBy } from '../store';
import { useExpdesk } from '../store-context';
import { LoadOnMount, Popover } from './Popover';

export function GroupByControl(): React.JSX.Element {
  const keys = useExpdesk(selectGroupBy);
  const setGroupBy = useExpdesk((s) => s.setGroupBy);
  const groupAllButSeed = useExpdesk((s) => s.groupAllButSeed);
  const configIndex = useExpdesk((s) => s.configIndex);
  const varying = useExpdesk((s) => s.varyingConfigKeys);
  const loading = useExpdesk((s) => s.configIndexLoading);
  const loadConfigValues = useExpdesk((s) => s.loadConfigValues);
  const [search, setSearch] = useState('');
  const choices = useMemo(
    () => configKeyChoices([...KEY_CONFIG_KEYS, ...keys], configIndex, varying),
    [configIndex, varying, keys],
  );
  const needle = search.trim().toLowerCase();
  const label =
    keys.length === 0 ? 'Group by ▾' : `Grouped: ${keys.length === 1 ? keys[0] : `${keys.length} keys`} ▾`;

  return (
    <Popover
      label={label}
      title={keys.length ? `Grouped by ${keys.join(', ')}` : 'Group runs by config keys'}
      testId="group-by"
    >
      {(close) => (
        <div className="menu column-menu" data-testid="group-menu">
          <LoadOnMount load={loadConfigValues} />
          <button
            type="button"
            className="menu-item"
            data-testid="group-but-seed"
            title="Group by every config key that differs between runs, except seeds (seed, *.seed, random_seed…) and run names"
            onClick={() => {
              close();
              void groupAllButSeed();
            }}
          >
            Everything but the seed
          </button>
          <button
            type="button"
            className="menu-item"
            disabled={keys.length === 0}
            data-testid="group-none"
            onClick={() => {
              setGroupBy([]);
              close();
            }}
          >
            No groups
          </button>
          <div className="menu-sep" />
          <input
            type="text"
            placeholder="Search config keys…"
            value={search}
            onChange={(e) => setSearch(e.target.value)}
            aria-label="Search config keys"
          />
          <div className="menu-scroll">
            <div className="menu-title">Config (varying first){loading ? ' · reading configs…' : ''}</div>
            {choices
              .filter((k) => !needle || k.toLowerCase().includes(needle))
              .slice(0, 200)
              .map((k) => (
                <label key={k} className="menu-check" title={k}>
                  <input
                    type="checkbox"
                    checked={keys.includes(k)}
                    data-testid="group-key"
                    data-key={k}
                    onChange={() => setGroupBy(keys.includes(k) ? keys.filter((x) => x !== k) : [...keys, k])}
                  />
                  <span className="ellipsis">{k}</span>
                  {varying.includes(k) && <span className="muted small">varies</span>}
                </label>
              ))}
          </div>
        </div>
      )}
    </Popover>
  );
}
