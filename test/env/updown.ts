// `test/env/up` and `test/env/down`: one control plane for working by hand, kept in a state directory under the
// cache. `up` is idempotent (a running, ready control plane is reused); `down` stops exactly the recorded processes.
import { existsSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startControlPlane } from './controlplane.ts';

const cache = process.env.DRAWBRIDGE_CACHE ?? join(process.env.HOME ?? '/tmp', '.cache', 'drawbridge');
// DRAWBRIDGE_ENV_DIR lets tests run their own up/down without touching a developer's running one.
const stateDir = process.env.DRAWBRIDGE_ENV_DIR ?? join(cache, 'env');
const stateFile = join(stateDir, 'state.json');

interface State {
  kubeconfigPath: string;
  server: string;
  pids: { etcd: number; apiserver: number };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function readState(): Promise<State | null> {
  if (!existsSync(stateFile)) return null;
  return JSON.parse(await readFile(stateFile, 'utf8')) as State;
}

async function up(): Promise<void> {
  const state = await readState();
  if (state && alive(state.pids.apiserver) && alive(state.pids.etcd)) {
    console.error(`drawbridge: control plane already running at ${state.server}`);
    console.log(`export KUBECONFIG=${state.kubeconfigPath}`);
    return;
  }
  if (state) await down(); // stale: something died; clear it before starting afresh
  await rm(stateDir, { recursive: true, force: true });
  const cp = await startControlPlane({ dir: stateDir, detached: true });
  const fresh: State = { kubeconfigPath: cp.kubeconfigPath, server: cp.server, pids: cp.pids };
  await writeFile(stateFile, JSON.stringify(fresh, null, 2));
  console.error(
    `drawbridge: control plane ready at ${cp.server} (etcd pid ${cp.pids.etcd}, kube-apiserver pid ${cp.pids.apiserver}); stop it with test/env/down`,
  );
  console.log(`export KUBECONFIG=${cp.kubeconfigPath}`);
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

async function down(): Promise<void> {
  const state = await readState();
  if (!state) {
    console.error('drawbridge: no control plane recorded; nothing to stop');
    return;
  }
  // apiserver first, so it does not log a storm of etcd connection errors on the way out.
  for (const pid of [state.pids.apiserver, state.pids.etcd]) {
    if (!alive(pid)) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitGone(pid, 10_000))) process.kill(pid, 'SIGKILL');
    await waitGone(pid, 5_000);
  }
  await rm(stateDir, { recursive: true, force: true });
  console.error(`drawbridge: stopped kube-apiserver (pid ${state.pids.apiserver}) and etcd (pid ${state.pids.etcd})`);
}

const command = process.argv[2];
if (command === 'up') await up();
else if (command === 'down') await down();
else {
  console.error('usage: node test/env/updown.ts up|down');
  process.exit(2);
}
