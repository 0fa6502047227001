/**
 * workspace.list's first phases (issue 14): `tableOnly` and `limit`, as the app asks for its
 * first screenful, against the full listing of the same folder (ExpdeskHost.dispatch, real files).
 */
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ExpdeskHost } from '../../src/main/host/host';
import type { RequestResult } from '../../src/shared/contract';
import { REPO } from '../helpers/cli';
import { tmpDir } from '../helpers/tmp';

const DEMO = path.join(REPO, 'resources/demo/experiments');

const hosts: ExpdeskHost[] = [];
afterEach(() => {
  while (hosts.length) hosts.pop()!.dispose();
});

function makeHost(): ExpdeskHost {
  const host = new ExpdeskHost({
    mode: 'browser',
    version: 't',
    workspace: DEMO,
    demoWorkspace: null,
    cacheDir: tmpDir('expdesk-cache-'),
  });
  hosts.push(host);
  return host;
}

type Listing = RequestResult<'workspace.list'>;
const tableOf = (l: Listing) =>
  l.experiments.map((e) => [e.path, e.name, e.status.state, e.total_steps, e.final_loss, e.problems]);

describe('workspace.list in phases', () => {
  it('a first screenful: the first experiments in the full listing’s order, with its table fields', async () => {
    const host = makeHost();
    const whole = (await host.dispatch('workspace.list', {})) as Listing;
    expect(whole.experiments.length).toBe(4);
    for (const warm of [false, true]) {
      // Once on a fresh host's cache, once after it has been filled.
      const h = warm ? host : makeHost();
      const first = (await h.dispatch('workspace.list', { tableOnly: true, limit: 2 })) as Listing;
      expect(first.root).toBe(whole.root);
      expect(tableOf(first)).toEqual(tableOf(whole).slice(0, 2));
      // It says how many there are in all; a listing that holds them all does not need to.
      expect(first.total).toBe(4);
      const table = (await h.dispatch('workspace.list', { tableOnly: true })) as Listing;
      expect(tableOf(table)).toEqual(tableOf(whole));
      expect(table.total).toBeUndefined();
    }
    // The whole listing after them still carries what the table-only one may leave out.
    const again = (await host.dispatch('workspace.list', { root: whole.root })) as Listing;
    expect(again.experiments.map((e) => Object.keys(e.metrics).length)).toEqual(
      whole.experiments.map((e) => Object.keys(e.metrics).length),
    );
    expect(again.experiments.some((e) => Object.keys(e.metrics).length > 0)).toBe(true);
  });

  it('refuses a limit that is not a positive whole number', async () => {
    const host = makeHost();
    for (const limit of [0, -1, 1.5]) {
      await expect(host.dispatch('workspace.list', { tableOnly: true, limit })).rejects.toMatchObject({
        code: 'bad-request',
      });
    }
  });
});
