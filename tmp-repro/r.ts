import WebSocket from 'ws';
import path from 'node:path';
import { makeWorkspaces, startServe } from '../tests/e2e/helpers/serve';
const ws0 = makeWorkspaces();
const served = await startServe(ws0.main, ws0.cache, {});
const u = new URL(served.urlWithToken);
const token = u.searchParams.get('token');
const sock = new WebSocket(`ws://${u.host}/api?token=${token}`, { origin: `http://${u.host}` , headers: { cookie: `expdesk-token-${u.port}=${token}` } });
let id = 0;
const pending = new Map<number, (m: unknown) => void>();
let events = 0;
sock.on('message', (d) => { const m = JSON.parse(String(d)); if ('id' in m) { pending.get(m.id)?.(m); pending.delete(m.id);} else events++; });
await new Promise((r, j) => { sock.on('open', r); sock.on('error', j); });
const call = (method: string, params: unknown) => new Promise<any>((r) => { const i = ++id; pending.set(i, r); sock.send(JSON.stringify({ id: i, method, params })); });
const t = Date.now();
const l = await call('workspace.list', {});
console.log('list', Date.now() - t, JSON.stringify(l).slice(0, 200));
const exps = l.result.experiments.map((e: any) => e.path);
await call('experiments.watch', { paths: exps });
const exp = exps.find((p: string) => p.includes('exp004'));
for (let k = 0; k < 20; k++) {
  const t1 = Date.now();
  const g = await call('experiment.get', { path: exp });
  const t2 = Date.now();
  const f = await Promise.race([call('file.read', { path: path.join(exp, 'config.yaml'), maxBytes: 4 << 20 }), new Promise((r) => setTimeout(() => r('TIMEOUT'), 15000))]);
  console.log(k, 'get', t2 - t1, 'ms', 'read', Date.now() - t2, 'ms', typeof f === 'string' ? f : JSON.stringify(f).slice(0, 80), 'events', events);
  await new Promise((r) => setTimeout(r, 300));
}
sock.close(); await served.stop(); process.exit(0);
