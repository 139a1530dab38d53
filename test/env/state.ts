// The hand-run control plane's state: which processes `up` (and `drawbridge demo --keep`) left running, so
// `down` stops exactly those. Lives in a directory under the cache, outside the repo, one per checkout (or unpacked
// package), so one tree's `down` never stops what another tree's `up` started.
import { createHash } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startControlPlane } from './controlplane.ts';

const cache = process.env.DRAWBRIDGE_CACHE ?? join(process.env.HOME ?? '/tmp', '.cache', 'drawbridge');

/** The state directory of the tree holding `moduleDir` (this folder: test/env in a checkout, dist/test/env in a package). */
export function stateDirOf(moduleDir: string): string {
  const tree = createHash('sha256').update(realpathSync(moduleDir)).digest('hex').slice(0, 12);
  return join(cache, 'env', tree);
}

// DRAWBRIDGE_ENV_DIR lets tests run their own up/down without touching a developer's running one.
export const stateDir = process.env.DRAWBRIDGE_ENV_DIR ?? stateDirOf(fileURLToPath(new URL('.', import.meta.url)));
const stateFile = join(stateDir, 'state.json');

export interface EnvState {
  kubeconfigPath: string;
  server: string;
  pids: { etcd: number; apiserver: number };
  /** Other processes started against this control plane (the demo's controller), stopped first by down. */
  /** `port`: where it serves something the demo reads back (the provider's demo backend). */
  extra?: { name: string; pid: number; port?: number }[];
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export async function readState(): Promise<EnvState | null> {
  if (!existsSync(stateFile)) return null;
  return JSON.parse(await readFile(stateFile, 'utf8')) as EnvState;
}

export async function writeState(state: EnvState): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  await writeFile(stateFile, JSON.stringify(state, null, 2));
}

/** Reuses a running control plane, or starts one detached. `log` gets human progress lines. */
export async function ensureUp(log: (line: string) => void): Promise<EnvState> {
  const state = await readState();
  if (state && alive(state.pids.apiserver) && alive(state.pids.etcd)) {
    log(`control plane already running at ${state.server}`);
    return state;
  }
  if (state) await ensureDown(log); // stale: something died; clear it before starting afresh
  await rm(stateDir, { recursive: true, force: true });
  const cp = await startControlPlane({ dir: stateDir, detached: true });
  const fresh: EnvState = { kubeconfigPath: cp.kubeconfigPath, server: cp.server, pids: cp.pids };
  await writeState(fresh);
  log(`control plane ready at ${cp.server} (etcd pid ${cp.pids.etcd}, kube-apiserver pid ${cp.pids.apiserver})`);
  return fresh;
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return !alive(pid);
}

async function terminate(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, 'SIGTERM');
  if (!(await waitGone(pid, 10_000))) process.kill(pid, 'SIGKILL');
  await waitGone(pid, 5_000);
}

export async function ensureDown(log: (line: string) => void): Promise<void> {
  const state = await readState();
  if (!state) {
    log('no control plane recorded; nothing to stop');
    return;
  }
  // Clients first, then the apiserver, then etcd: each goes down while what it talks to is still there.
  for (const { name, pid } of state.extra ?? []) {
    await terminate(pid);
    log(`stopped ${name} (pid ${pid})`);
  }
  await terminate(state.pids.apiserver);
  await terminate(state.pids.etcd);
  await rm(stateDir, { recursive: true, force: true });
  log(`stopped kube-apiserver (pid ${state.pids.apiserver}) and etcd (pid ${state.pids.etcd})`);
}
