#!/usr/bin/env node
// `npm start`: build when out/ is missing or older than the sources, then run
// the Electron app; where the Electron binary is not installed (headless
// boxes, machines without access to Electron's download host) run the same
// interface in browser mode (`expdesk serve`) instead and say so.
//
//   npm start                      the demo workspace
//   npm start -- ~/runs            a folder (or --workspace ~/runs)
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { findElectronBinary } from './electron-binary.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Outputs that must all exist for a run; the oldest decides staleness. */
const OUTPUTS = ['out/main/index.js', 'out/preload/index.cjs', 'out/renderer/index.html'];
/** Inputs whose change calls for a rebuild. */
const INPUTS = ['src', 'electron.vite.config.ts', 'package.json', 'tsconfig.node.json', 'tsconfig.web.json'];

function newestMtime(p) {
  if (!existsSync(p)) return 0;
  const st = statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  let newest = st.mtimeMs;
  for (const name of readdirSync(p)) newest = Math.max(newest, newestMtime(path.join(p, name)));
  return newest;
}

/** Why a build is needed, or null when out/ is up to date. */
export function staleReason(root = ROOT) {
  const outputs = OUTPUTS.map((o) => path.join(root, o));
  const missing = outputs.find((o) => !existsSync(o));
  if (missing) return `${path.relative(root, missing)} is missing`;
  const oldestOutput = Math.min(...outputs.map((o) => statSync(o).mtimeMs));
  const newestInput = Math.max(...INPUTS.map((i) => newestMtime(path.join(root, i))));
  return newestInput > oldestOutput ? 'sources changed since the last build' : null;
}

export { findElectronBinary };

/**
 * `expdesk serve` takes the workspace only as --workspace DIR; the app also
 * takes a bare folder. Turn the first bare folder into --workspace.
 */
export function serveArgs(args) {
  const out = ['serve'];
  let hasWorkspace = args.some((a) => a === '--workspace' || a.startsWith('--workspace='));
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a.startsWith('-')) {
      out.push(a);
      // Options of `serve` that take a separate value keep it.
      if (['--workspace', '--port', '--host'].includes(a) && i + 1 < args.length) out.push(args[++i]);
    } else if (!hasWorkspace) {
      out.push('--workspace', a);
      hasWorkspace = true;
    } else {
      out.push(a);
    }
  }
  return out;
}

function build() {
  const cli = path.join(ROOT, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  const [cmd, cmdArgs] = existsSync(cli)
    ? [process.execPath, [cli, 'build']]
    : [process.platform === 'win32' ? 'npx.cmd' : 'npx', ['electron-vite', 'build']];
  const result = spawnSync(cmd, cmdArgs, { cwd: ROOT, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write('\nexpdesk: the build failed (see above); not starting.\n');
    process.exit(result.status ?? 1);
  }
}

/** Run a child with our stdio; forward SIGINT/SIGTERM to it; exit with its status. */
function run(cmd, args, env = process.env) {
  const child = spawn(cmd, args, { cwd: ROOT, stdio: 'inherit', env });
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => forward(signal));
  child.on('error', (err) => {
    process.stderr.write(`expdesk: could not start ${cmd}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      // Die the way the child did, so shells see the same signal.
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
    } else process.exit(code ?? 0);
  });
}

function main() {
  const args = process.argv.slice(2);
  const stale = staleReason();
  if (stale) {
    process.stdout.write(`expdesk: building (${stale})…\n`);
    build();
  }
  const electron = findElectronBinary(path.join(ROOT, 'node_modules', 'electron'));
  if (electron.available) {
    // ELECTRON_RUN_AS_NODE in the environment would make the binary a plain Node.
    const env = { ...process.env };
    delete env.ELECTRON_RUN_AS_NODE;
    run(electron.path, [path.join(ROOT, 'out', 'main', 'index.js'), ...args], env);
    return;
  }
  process.stdout.write(
    `Electron's binary is not available on this machine (${electron.reason}); ` +
      'starting Expdesk in browser mode instead. Open the URL below in your browser.\n',
  );
  run(process.execPath, [path.join(ROOT, 'bin', 'expdesk.mjs'), ...serveArgs(args)]);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) main();
