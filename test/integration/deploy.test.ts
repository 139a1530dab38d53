// deploy/ is true to the code: every manifest is accepted by a real apiserver, and the controller runs with the
// Deployment's exact arguments under the ServiceAccount and RBAC from deploy/ (nothing more), serving a
// Service, holding its Lease in drawbridge-system, and exiting 0 on SIGTERM. The speaker then runs with the
// DaemonSet's arguments under its own ServiceAccount and RBAC, on loopback, and announces that Service.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  RbacAuthorizationV1Api,
  type V1DaemonSet,
  type V1Deployment,
  type V1Job,
} from '@kubernetes/client-node';
import { eventually, useControlPlane } from '../env/harness.ts';
import { freePort } from '../env/ports.ts';
import { manifestTools, render } from '../env/tools.ts';
import { httpsGet, serviceAccountToken, tokenKubeconfig } from './serviceaccounts.ts';
import { createNamespace, createPool, createService, eventsFor, lbService, waitForIngress } from './support.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const cluster = useControlPlane();

/** deploy/overlays/metal as kustomize renders it: base (CRD, namespace, RBAC, controller) plus the speaker. */
async function manifests(): Promise<KubernetesObject[]> {
  const { kustomize } = await manifestTools();
  const docs = loadAllYaml(
    await render(kustomize, ['build', join(repo, 'deploy/overlays/metal')]),
  ) as KubernetesObject[];
  assert.ok(docs.length >= 10, `the overlay renders the manifests (${docs.length})`);
  return docs;
}

/** A kubeconfig authenticating as one of deploy/'s ServiceAccounts in drawbridge-system. */
async function serviceAccountKubeconfig(name = 'drawbridge-controller'): Promise<string> {
  const token = await serviceAccountToken(cluster.core, 'drawbridge-system', name);
  return tokenKubeconfig(cluster.kubeConfig, token, name);
}

/** Asserts that `call` is refused with 403 Forbidden. */
async function forbidden(what: string, call: () => Promise<unknown>): Promise<void> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.equal((error as { code?: number } | undefined)?.code, 403, `${what} must be forbidden`);
}

/** The metrics port a controller or speaker logged ("serving /metrics, /healthz, /readyz"). */
function loggedMetricsPort(out: () => string): Promise<number> {
  return eventually('the metrics port in the log', () => {
    const line = out()
      .split('\n')
      .find((l) => l.includes('serving /metrics'));
    return line ? (JSON.parse(line) as { port: number }).port : undefined;
  });
}

/** /metrics refuses a caller without a token (401) or without drawbridge-metrics-reader (403); the body for one with. */
async function scrapeAsPrometheus(url: string): Promise<string> {
  // apps/prometheus bound to deploy/'s metrics-reader ClusterRole (once; the controller's and speaker's tests share it).
  await cluster.kubeConfig
    .makeApiClient(RbacAuthorizationV1Api)
    .createClusterRoleBinding({
      body: {
        metadata: { name: 'prometheus-drawbridge-metrics' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'drawbridge-metrics-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'prometheus', namespace: 'apps' }],
      },
    })
    .catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
    });
  const scraper = await serviceAccountToken(cluster.core, 'apps', 'prometheus');
  const stranger = await serviceAccountToken(cluster.core, 'apps', 'stranger');
  assert.equal((await httpsGet(`${url}/metrics`)).status, 401);
  assert.equal((await httpsGet(`${url}/metrics`, stranger)).status, 403);
  const scrape = await httpsGet(`${url}/metrics`, scraper);
  assert.equal(scrape.status, 200);
  return scrape.body;
}

test('every manifest in deploy/ is accepted by the apiserver', async () => {
  const api = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
  for (const doc of await manifests()) {
    await api.create(doc);
  }
  const deployment = await cluster.kubeConfig
    .makeApiClient(AppsV1Api)
    .readNamespacedDeployment({ name: 'drawbridge-controller', namespace: 'drawbridge-system' });
  assert.equal(deployment.spec?.template.spec?.serviceAccountName, 'drawbridge-controller');
});

test("the controller runs with the Deployment's arguments and only deploy/'s RBAC", async () => {
  const docs = await manifests();
  const deployment = docs.find((d) => d.kind === 'Deployment') as V1Deployment;
  const args = deployment.spec?.template.spec?.containers[0]?.args ?? [];
  assert.equal(args[0], 'controller');
  const kubeconfig = await serviceAccountKubeconfig();

  await createPool(cluster.kubeConfig, 'deploy-pool', ['192.0.2.64/28']);
  await createNamespace(cluster.core, 'apps');
  await createService(cluster.core, 'apps', lbService('shop'));

  // The manifest's own arguments; later flags only move the metrics port to loopback for the test.
  const child = spawn(
    process.execPath,
    [
      join(repo, 'src/commands/main.ts'),
      ...args,
      '--kubeconfig',
      kubeconfig,
      '--metrics-bind-address',
      '127.0.0.1:0',
      '--log-level',
      'info',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const ip = await waitForIngress(cluster.core, 'apps', 'shop', 30_000);
    assert.match(ip, /^192\.0\.2\.(6[4-9]|7\d)$/);
    // Events are written after the status, best effort: wait for it rather than race it.
    await eventually('the EnsuredLoadBalancer Event (the ServiceAccount may record Events)', async () =>
      (await eventsFor(cluster.core, 'apps', 'shop')).some((e) => e.reason === 'EnsuredLoadBalancer')
        ? true
        : undefined,
    );
    const lease = await eventually('the leader Lease in drawbridge-system', () =>
      cluster.kubeConfig
        .makeApiClient(CoordinationV1Api)
        .readNamespacedLease({ name: 'drawbridge-controller', namespace: 'drawbridge-system' })
        .catch(() => undefined),
    );
    assert.ok(lease.spec?.holderIdentity, 'a replica holds the Lease');

    // The probes the Deployment points at (HTTPS, no token), and the metrics it exposes to a scraper bound to
    // deploy/'s metrics-reader ClusterRole; without a token or that binding, /metrics is refused.
    const port = await loggedMetricsPort(() => out);
    const url = `https://127.0.0.1:${port}`;
    for (const path of ['/healthz', '/readyz']) {
      const res = await httpsGet(url + path);
      assert.equal(`${res.status} ${res.body.trim()}`, '200 ok', path);
    }
    const metrics = await scrapeAsPrometheus(url);
    assert.match(metrics, /^drawbridge_leader\{identity="[^"]+"\} 1$/m, 'this replica reports itself leader');
    assert.match(metrics, /^drawbridge_reconcile_total\{provider="metal",outcome="ensured"\} [1-9]/m);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'SIGTERM is a graceful stop');
});

test("the controller's ServiceAccount cannot read Secrets, write Pods, or touch what it does not own", async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(await serviceAccountKubeconfig());
  const core = kc.makeApiClient(CoreV1Api);
  await forbidden('creating a Secret', () =>
    core.createNamespacedSecret({ namespace: 'apps', body: { metadata: { name: 'mine' }, stringData: { a: 'b' } } }),
  );
  await cluster.core.createNamespacedSecret({
    namespace: 'apps',
    body: { metadata: { name: 'decoy' }, stringData: { a: 'b' } },
  });
  await forbidden('reading a Secret', () => core.readNamespacedSecret({ name: 'decoy', namespace: 'apps' }));
  await forbidden('listing Secrets', () => core.listSecretForAllNamespaces());
  await forbidden('listing Secrets in its own namespace', () =>
    core.listNamespacedSecret({ namespace: 'drawbridge-system' }),
  );
  const pod = { metadata: { name: 'evil' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } };
  await forbidden('creating a Pod', () => core.createNamespacedPod({ namespace: 'apps', body: pod }));
  await forbidden('deleting Pods', () => core.deleteCollectionNamespacedPod({ namespace: 'apps' }));
  await forbidden('deleting a Service', () => core.deleteNamespacedService({ name: 'shop', namespace: 'apps' }));
  await forbidden('updating a Node', () => core.patchNode({ name: 'any', body: { metadata: { labels: { a: 'b' } } } }));
  await forbidden('a Lease outside its namespace', () =>
    kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace: 'apps',
      body: { metadata: { name: 'grab' }, spec: { holderIdentity: 'x' } },
    }),
  );
});

const SPEAKER_KEY = { namespace: 'drawbridge-system', name: 'drawbridge-membership-key' };
const readKey = async (namespace = SPEAKER_KEY.namespace, name = SPEAKER_KEY.name) =>
  (await cluster.core.readNamespacedSecret({ namespace, name })).data?.key;

/** A directory holding the membership key as the Secret's volume would: `key` (no `previous`). */
async function membershipKeyDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-key-'));
  const key = await readKey();
  assert.ok(key, 'the membership key Secret exists');
  await writeFile(join(dir, 'key'), Buffer.from(key, 'base64'), { mode: 0o400 });
  return dir;
}

test('the speaker-key Job makes a random membership key under its own create-only RBAC, and never changes it', async () => {
  const job = (await manifests()).find((d) => d.kind === 'Job') as V1Job;
  const container = job.spec?.template.spec?.containers[0];
  assert.equal(job.spec?.template.spec?.serviceAccountName, 'drawbridge-speaker-key');
  const kubeconfig = await serviceAccountKubeconfig('drawbridge-speaker-key');
  const runJob = () =>
    promisify(execFile)(process.execPath, [
      join(repo, 'src/commands/main.ts'),
      ...(container?.args ?? []),
      '--kubeconfig',
      kubeconfig,
    ]);
  assert.match(
    (await runJob()).stdout,
    /created the membership key Secret drawbridge-system\/drawbridge-membership-key/,
  );
  const key = await readKey();
  assert.ok(key && Buffer.from(key, 'base64').length >= 32, 'at least 32 bytes');
  // An upgrade (the Job again) keeps it.
  assert.match((await runJob()).stdout, /exists; left as it is/);
  assert.equal(await readKey(), key);
  // What it can do is create; it cannot read the key it made, nor any other Secret.
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  await forbidden('reading the key', () => core.readNamespacedSecret(SPEAKER_KEY));
  await forbidden('listing Secrets', () => core.listNamespacedSecret({ namespace: 'drawbridge-system' }));
  await forbidden('creating a Secret elsewhere', () =>
    core.createNamespacedSecret({ namespace: 'default', body: { metadata: { name: 'x' }, stringData: { a: 'b' } } }),
  );
});

test('helm install makes a random membership key and helm upgrade keeps it', async () => {
  const { helm } = await manifestTools();
  const chart = join(repo, 'deploy/helm/drawbridge');
  const helmRun = (verb: string) =>
    render(helm, [verb, 'keys', chart, '-n', 'helm-keys', '--kubeconfig', cluster.kubeconfigPath, '--skip-crds']);
  await createNamespace(cluster.core, 'helm-keys');
  await helmRun('install');
  const key = await readKey('helm-keys', 'keys-drawbridge-membership-key');
  assert.ok(key && Buffer.from(key, 'base64').length >= 32, 'at least 32 bytes');
  await helmRun('upgrade');
  assert.equal(await readKey('helm-keys', 'keys-drawbridge-membership-key'), key, 'the upgrade kept the key');
});

test("the speaker runs with the DaemonSet's arguments and only deploy/'s RBAC, and serves metrics the same way", async () => {
  const daemonSet = (await manifests()).find(
    (d) => d.kind === 'DaemonSet' && d.metadata?.name === 'drawbridge-speaker',
  ) as V1DaemonSet;
  const container = daemonSet.spec?.template.spec?.containers[0];
  assert.equal(daemonSet.spec?.template.spec?.serviceAccountName, 'drawbridge-speaker');
  // The kubelet's substitutions: this "node" is the loopback interface, where ARP and its replies stay.
  // The key the Job made (test above), where the DaemonSet mounts its Secret.
  const keyDir = await membershipKeyDir();
  const args = (container?.args ?? []).map((a) =>
    a
      .replace('$(NODE_NAME)', 'node-a')
      .replace('$(HOST_IP)', '127.0.0.1')
      .replace('/etc/drawbridge/membership', keyDir),
  );
  assert.equal(args[0], 'speaker');
  assert.ok(!args.some((a) => a.startsWith('--metrics-secure')), 'the DaemonSet keeps the secure default');
  const kubeconfig = await serviceAccountKubeconfig('drawbridge-speaker');
  // The manifest's own arguments; later flags only pick free loopback ports and the interface, and turn off what a
  // test machine lacks (kube-proxy's health endpoint) or waits on (probation before announcing).
  const child = spawn(
    process.execPath,
    [
      join(repo, 'src/commands/main.ts'),
      ...args,
      ...['--kubeconfig', kubeconfig, '--interface', 'lo', '--membership-port', String(await freePort())],
      ...['--metrics-bind-address', '127.0.0.1:0', '--probation', '0', '--node-health-url', 'none'],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    const port = await loggedMetricsPort(() => out);
    const url = `https://127.0.0.1:${port}`;
    // The probes the DaemonSet points at: HTTPS, no token; ready once its cache (list/watch under its RBAC) synced.
    for (const probe of [container?.livenessProbe, container?.readinessProbe]) {
      assert.equal(probe?.httpGet?.scheme, 'HTTPS');
      assert.equal(probe?.httpGet?.port, 'https-metrics');
    }
    assert.equal(container?.ports?.find((p) => p.name === 'https-metrics')?.containerPort, 7473);
    for (const path of ['/healthz', '/readyz']) {
      const res = await eventually(`${path} answering ok`, async () => {
        const r = await httpsGet(url + path);
        return r.status === 200 ? r : undefined;
      });
      assert.equal(res.body.trim(), 'ok', path);
    }
    // What it needs: the announcing-node annotation (patch services) and the takeover Event, for the Service the
    // controller provisioned above.
    await eventually('the speaker to annotate the Service it announces', async () => {
      const svc = await cluster.core.readNamespacedService({ name: 'shop', namespace: 'apps' });
      return svc.metadata?.annotations?.['drawbridge.io/announcing-node'] === 'node-a' ? true : undefined;
    });
    await eventually('the AnnouncingNode Event', async () =>
      (await eventsFor(cluster.core, 'apps', 'shop')).some(
        (e) => e.reason === 'AnnouncingNode' && e.message?.startsWith('node-a announces 192.0.2.'),
      )
        ? true
        : undefined,
    );
    // /metrics over HTTPS for the same scraper as the controller's (TokenReview + SubjectAccessReview, made with the
    // speaker's own ServiceAccount).
    const metrics = await scrapeAsPrometheus(url);
    assert.match(metrics, /^drawbridge_speaker_addresses_held\{family="IPv4"\} 1$/m);
    assert.match(metrics, /^drawbridge_speaker_apiserver_reachable 1$/m);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, 'SIGTERM is a graceful stop');
});

test("the speaker's ServiceAccount reads Secrets in its own namespace only, and writes nothing it does not own", async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(await serviceAccountKubeconfig('drawbridge-speaker'));
  const core = kc.makeApiClient(CoreV1Api);
  await forbidden('reading a Secret', () => core.readNamespacedSecret({ name: 'decoy', namespace: 'apps' }));
  await forbidden('listing Secrets', () => core.listSecretForAllNamespaces());
  // BGP peer passwords (passwordSecret) live beside the speaker, where it may read (never write) Secrets.
  await core.listNamespacedSecret({ namespace: 'drawbridge-system' });
  await forbidden('creating a Secret in its own namespace', () =>
    core.createNamespacedSecret({
      namespace: 'drawbridge-system',
      body: { metadata: { name: 'x' }, stringData: { a: 'b' } },
    }),
  );
  await forbidden('writing a Service status', () =>
    core.patchNamespacedServiceStatus({ name: 'shop', namespace: 'apps', body: { status: {} } }),
  );
  await forbidden('deleting a Service', () => core.deleteNamespacedService({ name: 'shop', namespace: 'apps' }));
  await forbidden('creating a Pod', () =>
    core.createNamespacedPod({
      namespace: 'apps',
      body: { metadata: { name: 'evil' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    }),
  );
  await forbidden('updating a Node', () => core.patchNode({ name: 'any', body: { metadata: { labels: { a: 'b' } } } }));
  await forbidden('a Lease', () =>
    kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
      namespace: 'drawbridge-system',
      body: { metadata: { name: 'grab' }, spec: { holderIdentity: 'x' } },
    }),
  );
});
