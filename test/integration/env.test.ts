// The control-plane tooling itself: nothing is left running after a killed test process, and
// up/down manage exactly one control plane.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { type RequestOptions, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { controlPlaneBinaries } from '../env/binaries.ts';
import { startControlPlane } from '../env/controlplane.ts';
import { eventually } from '../env/harness.ts';

const run = promisify(execFile);
const controlplane = fileURLToPath(new URL('../env/controlplane.ts', import.meta.url));
const updown = fileURLToPath(new URL('../env/updown.ts', import.meta.url));

/** GET a path the way `kubectl get --raw <path>` does: with the kubeconfig's server, CA and credentials. */
async function getRaw(kubeconfigPath: string, path: string): Promise<string> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  const server = kc.getCurrentCluster()?.server ?? '';
  return new Promise((resolve, reject) => {
    const req = request(`${server}${path}`, opts, (res) => {
      let body = '';
      res.on('data', (c) => {
        body += c;
      });
      res.on('end', () => resolve(body.trim()));
    });
    req.on('error', reject);
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a test process killed with SIGKILL leaves no apiserver or etcd behind', async () => {
  const script = `
    const { startControlPlane } = await import(${JSON.stringify(controlplane)});
    const cp = await startControlPlane();
    console.log(JSON.stringify(cp.pids));
    setInterval(() => {}, 1000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (c) => {
    out += c;
  });
  const pids = await eventually(
    'the child to start a control plane',
    () => (out.includes('}') ? (JSON.parse(out) as { etcd: number; apiserver: number }) : undefined),
    60_000,
  );
  assert.ok(alive(pids.apiserver) && alive(pids.etcd), 'both processes run while their parent lives');
  child.kill('SIGKILL');
  await eventually('apiserver and etcd to exit after their parent died', () =>
    !alive(pids.apiserver) && !alive(pids.etcd) ? true : undefined,
  );
});

test('up is idempotent and down stops exactly what up started', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-updown-'));
  const env = { ...process.env, DRAWBRIDGE_ENV_DIR: join(dir, 'env') };
  try {
    const first = await run(process.execPath, [updown, 'up'], { env });
    assert.match(first.stdout, /^export KUBECONFIG=\S+\n$/, 'exactly one line on stdout');
    const state = JSON.parse(await readFile(join(dir, 'env', 'state.json'), 'utf8')) as {
      pids: { etcd: number; apiserver: number };
    };
    const second = await run(process.execPath, [updown, 'up'], { env });
    assert.equal(second.stdout, first.stdout, 'the second up reuses the first control plane');
    const again = JSON.parse(await readFile(join(dir, 'env', 'state.json'), 'utf8')) as typeof state;
    assert.deepEqual(again.pids, state.pids);

    const kubeconfig = first.stdout.trim().replace('export KUBECONFIG=', '');
    assert.equal(await getRaw(kubeconfig, '/readyz'), 'ok', 'the printed kubeconfig reaches a ready apiserver');
    // The apiserver reports the release it was built from (what `kubectl version` prints), not the
    // `v0.0.0-master+$Format:%H$` of a build without the Kubernetes version ldflags.
    const { kubernetesVersion } = await controlPlaneBinaries();
    assert.match(kubernetesVersion, /^v1\.33\.\d+$/, 'the pinned release is a 1.33 patch release');
    const version = JSON.parse(await getRaw(kubeconfig, '/version')) as Record<string, string>;
    assert.equal(version.gitVersion, kubernetesVersion);
    assert.equal(version.major, '1');
    assert.equal(version.minor, kubernetesVersion.split('.')[1]);
    assert.match(version.buildDate ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.notEqual(version.buildDate, '1970-01-01T00:00:00Z', 'stamped with the build date');

    await run(process.execPath, [updown, 'down'], { env });
    assert.ok(!alive(state.pids.apiserver) && !alive(state.pids.etcd), 'down stopped both processes');
    await assert.rejects(readFile(join(dir, 'env', 'state.json')), 'down removed its state');
  } finally {
    await run(process.execPath, [updown, 'down'], { env }).catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
});

test('restartApiserver and stopEtcd/startEtcd keep the port, certificates and data', async () => {
  const cp = await startControlPlane();
  try {
    const core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: 'kept' } } });
    const before = cp.pids.apiserver;
    await cp.restartApiserver();
    assert.notEqual(cp.pids.apiserver, before, 'a new apiserver process');
    assert.equal((await core.readNamespace({ name: 'kept' })).metadata?.name, 'kept');
    await cp.stopEtcd();
    await assert.rejects(core.createNamespace({ body: { metadata: { name: 'while-down' } } }));
    await cp.startEtcd();
    await eventually('a write after etcd is back', () =>
      core.createNamespace({ body: { metadata: { name: 'after' } } }).then(() => true),
    );
    assert.equal((await core.readNamespace({ name: 'kept' })).metadata?.name, 'kept');
  } finally {
    await cp.stop();
  }
});
