// `drawbridge plan` and `drawbridge gc` with --provider gcp, as an operator runs them (the real binary, a real
// apiserver, the GCE fake as the Compute endpoint), over backend-service load balancers: plan lists the instance
// groups, regional health check, backend service and internal forwarding rule a Service would get; gc finds a
// load balancer of this cluster whose Service is gone and deletes it, shared groups and node check included.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { GcpConfigSchema, gcp } from '../../providers/gcp/index.ts';
import { instanceGroupName, l4NamesFor } from '../../providers/gcp/names.ts';
import type { GcpProvider } from '../../providers/gcp/provider.ts';
import { testContext } from '../conformance/context.ts';
import { baseSpec, node } from '../conformance/suite.ts';
import { useControlPlane } from '../env/harness.ts';
import { startGceFake } from '../fakes/gce/server.ts';
import { createNamespace, createService, readService } from './support.ts';

const BIN = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));
const CLUSTER = 'itest';
const NS = 'gcp-cli';
const PROJECT = 'cli-proj';
const REGION = 'us-central1';
const ZONE = 'us-central1-b';
const ZONE_C = 'us-central1-c';
const IG = instanceGroupName(CLUSTER);

const fake = await startGceFake({ operationMs: 10 });
for (const n of ['node-a', 'node-b']) fake.seedInstance(PROJECT, ZONE, n);
fake.seedInstance(PROJECT, ZONE_C, 'node-d');
fake.compute.seedSubnetwork(PROJECT, REGION, 'default', '10.128.0.0/20');
const config = { project: PROJECT, region: REGION, endpoint: fake.endpoint, subnetwork: 'default' };
const dir = await mkdtemp(join(tmpdir(), 'drawbridge-gcp-cli-'));
const configFile = join(dir, 'drawbridge.yaml');
await writeFile(configFile, JSON.stringify({ gcp: config }));
let provider: GcpProvider | undefined;
after(async () => {
  await provider?.stop();
  await fake.close();
});

const cluster = useControlPlane({
  setup: async (c) => {
    await createNamespace(c.core, NS);
    for (const [name, zone] of [
      ['node-a', ZONE],
      ['node-b', ZONE],
      ['node-d', ZONE_C],
    ] as const) {
      await c.core.createNode({
        body: { metadata: { name }, spec: { providerID: `gce://${PROJECT}/${zone}/${name}` } },
      });
    }
  },
});

function drawbridge(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, KUBECONFIG: cluster.kubeconfigPath };
  const common = ['--provider', 'gcp', '--cluster-name', CLUSTER, '--provider-config', configFile];
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args, ...common], { env }, (error, stdout, stderr) =>
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** An internal load balancer of this cluster for a Service that does not exist: what gc must find. */
const ghost = {
  ...baseSpec(7),
  identity: { clusterName: CLUSTER, namespace: NS, name: 'ghost', uid: '00000000-0000-4000-8000-0000000000a7' },
  nodes: ['node-a', 'node-b'].map((n) => ({ ...node(n, '10.0.0.9'), providerID: `gce://${PROJECT}/${ZONE}/${n}` })),
  providerOptions: { scheme: 'INTERNAL' as const, backendService: true },
};

test('plan lists the backend-service kinds a Service would get, and the orphan; changes nothing', async () => {
  const context = { ...testContext('gcp').context, clusterName: CLUSTER };
  provider = (await gcp.create(context, GcpConfigSchema.parse(config))) as GcpProvider;
  await provider.ensure(ghost, { signal: new AbortController().signal });
  await fake.settled();
  const before = fake.compute.paths();

  const svc = await createService(cluster.core, NS, {
    metadata: { name: 'web', annotations: { 'networking.gke.io/load-balancer-type': 'Internal' } },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: 'drawbridge.io/gcp',
      externalTrafficPolicy: 'Local',
      selector: { app: 'web' },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
    },
  });
  const lb = l4NamesFor({ clusterName: CLUSTER, uid: svc.metadata!.uid! }).lb;
  fake.log.clear();
  const plan = await drawbridge(['plan']);
  assert.equal(plan.code, 2, plan.stderr);
  const web = plan.stdout.split('\n').filter((l) => l.startsWith('  ') || l === `${NS}/web`);
  assert.deepEqual(web.slice(0, 8), [
    `${NS}/web`,
    // node-a and node-b are in the cluster's group of their zone already (the ghost's); node-d's zone has none.
    `  + instanceGroup ${ZONE_C}/${IG}`,
    `  ~ instanceGroup ${ZONE_C}/${IG} (add 1)`,
    `  + healthCheck ${lb}`,
    `  + firewall ${lb}-hc`,
    `  + backendService ${lb}`,
    `  + forwardingRule ${lb} (internal in default)`,
    `  + firewall k8s-fw-${lb}`,
  ]);
  assert.match(plan.stdout, new RegExp(`${NS}/ghost\\n {2}- orphaned load balancer ${ghost.identity.uid}\\n`));
  assert.deepEqual(fake.log.mutations(), [], 'plan writes nothing');
  assert.deepEqual(fake.compute.paths(), before);
  await cluster.core.deleteNamespacedService({ name: 'web', namespace: NS });
  assert.equal(await readService(cluster.core, NS, 'web'), undefined, 'never served: no finalizer');
});

test('gc finds the orphaned backend-service load balancer, --dry-run leaves it, gc deletes all of it', async () => {
  const owned = await drawbridge(['gc', '--dry-run']);
  assert.equal(owned.code, 0, owned.stderr);
  assert.match(owned.stdout, new RegExp(`^would remove ${NS}/ghost \\(uid ${ghost.identity.uid}\\)$`, 'm'));
  assert.match(owned.stdout, /^1 orphaned load balancer\(s\) of 1 owned \(dry run\)$/m);
  assert.deepEqual(fake.log.mutations(), [], 'a dry run writes nothing');
  const lb = l4NamesFor(ghost.identity).lb;
  assert.ok(fake.compute.peek(`projects/${PROJECT}/regions/${REGION}/backendServices/${lb}`));

  const gc = await drawbridge(['gc']);
  assert.equal(gc.code, 0, gc.stderr);
  assert.match(gc.stdout, new RegExp(`^removed ${NS}/ghost \\(uid ${ghost.identity.uid}\\)$`, 'm'));
  await fake.settled();
  // The cluster's last backend service went, so its instance group and node health check went with it.
  assert.deepEqual(fake.compute.paths(), []);
  const again = await drawbridge(['gc', '--dry-run']);
  assert.match(again.stdout, /^0 orphaned load balancer\(s\) of 0 owned \(dry run\)$/m);
});
