// Over 300 lines: one GCE fake and one control plane shared by every gcp case (starting them is the slow part).
// The gcp provider end to end: a real kube-apiserver, the real Controller, and the GCE fake in this process.
// Every case asserts what the fake holds (read with compute.peek, which is not an HTTP request, so the fake's
// request log holds the controller's calls only) and what the Service's status says. Nodes are plain Node
// objects whose providerIDs are instances seeded in the fake; nothing runs on them.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { namesFor } from '../../providers/gcp/names.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import { startGceFake } from '../fakes/gce/server.ts';
import { createNamespace, ingressIps, readService, startController, waitForEvent, waitForSettled } from './support.ts';

const CLUSTER = 'itest';
const NS = 'gcp';
const PROJECT = 'itest-proj';
const REGION = 'us-central1';
const ZONE = 'us-central1-b';
const P = `projects/${PROJECT}`;

const fake = await startGceFake({ operationMs: 20 });
for (const n of ['node-a', 'node-b', 'node-c']) fake.seedInstance(PROJECT, ZONE, n);
after(() => fake.close());

let controller: Controller | undefined;
const cluster = useControlPlane({
  setup: async (c) => {
    await createNamespace(c.core, NS);
    await addNode(c.core, 'node-a');
    await addNode(c.core, 'node-b');
    controller = await startController(c.kubeConfig, {
      provider: 'gcp',
      providerConfig: { project: PROJECT, region: REGION, endpoint: fake.endpoint },
      clusterName: CLUSTER,
      // Short, so the drift case sees a resync soon; a converged resync costs no write (asserted below).
      resyncSeconds: 2,
    });
  },
  teardown: async () => controller?.stop(),
});

async function addNode(core: CoreV1Api, name: string): Promise<void> {
  await core.createNode({
    body: {
      metadata: { name },
      spec: { providerID: `gce://${PROJECT}/${ZONE}/${name}` },
      status: { addresses: [{ type: 'InternalIP', address: `10.128.0.${name.charCodeAt(5) - 90}` }] },
    },
  });
}

function service(name: string, spec: Partial<V1Service['spec']> = {}, annotations?: Record<string, string>): V1Service {
  return {
    metadata: { name, annotations },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: 'drawbridge.io/gcp',
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      ...spec,
    },
  };
}

// ---- What the fake holds for one Service.

const instanceUrl = (n: string) => `https://www.googleapis.com/compute/v1/${P}/zones/${ZONE}/instances/${n}`;
const NODE_HC = 'k8s-itest-node';

function observe(svc: V1Service) {
  const names = namesFor({ clusterName: CLUSTER, uid: svc.metadata!.uid! });
  const rule = fake.compute.peek(`${P}/regions/${REGION}/forwardingRules/${names.lb}`);
  const pool = fake.compute.peek(`${P}/regions/${REGION}/targetPools/${names.lb}`);
  const hcName =
    String(pool?.healthChecks && (pool.healthChecks as string[])[0])
      .split('/')
      .at(-1) ?? '';
  const hc = fake.compute.peek(`${P}/global/httpHealthChecks/${hcName}`);
  const hcFirewallName = hcName === NODE_HC ? `${NODE_HC}-http-hc` : `k8s-${hcName}-http-hc`;
  const hcFirewall = fake.compute.peek(`${P}/global/firewalls/${hcFirewallName}`);
  const firewall = fake.compute.peek(`${P}/global/firewalls/${names.trafficFirewall}`);
  const address = fake.compute.peek(`${P}/regions/${REGION}/addresses/${names.lb}`);
  return {
    names,
    rule: rule && { ip: rule.IPAddress, protocol: rule.IPProtocol, portRange: rule.portRange },
    instances: [...((pool?.instances as string[] | undefined) ?? [])].sort(),
    affinity: pool?.sessionAffinity,
    hc: hc && { name: hc.name, port: hc.port, path: hc.requestPath },
    hcFirewall: hcFirewall && { allowed: hcFirewall.allowed, sourceRanges: hcFirewall.sourceRanges },
    firewall: firewall && {
      allowed: firewall.allowed,
      sourceRanges: firewall.sourceRanges,
      destinationRanges: firewall.destinationRanges,
    },
    address: address && { ip: address.address, status: address.status },
  };
}

/** Creates the Service, waits for its IP and for the controller to settle; returns the Service and the fake's view. */
async function provision(svc: V1Service) {
  const core = cluster.core;
  await core.createNamespacedService({ namespace: NS, body: svc });
  const name = svc.metadata!.name!;
  await eventually(`an IP on ${name}`, async () => ingressIps(await readService(core, NS, name))[0], 30_000);
  await waitForSettled(controller!, core, NS, 30_000);
  const now = (await readService(core, NS, name))!;
  const gce = observe(now);
  assert.deepEqual(ingressIps(now), [gce.rule?.ip], 'the status IP is the forwarding rule IP');
  return { svc: now, gce };
}

async function patchService(name: string, patch: object): Promise<void> {
  await cluster.core.patchNamespacedService(
    { name, namespace: NS, body: patch },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

const poolCount = () => fake.compute.paths().filter((p) => p.includes('/targetPools/')).length;
const mutationsSince = (from: number) =>
  fake.log.counts((e) => e.group === 'write' && fake.log.entries.indexOf(e) >= from);

// ---- Cases.

test('multi-port: one rule over the port range, the traffic firewall on the Service ports, the shared node check', async () => {
  const { gce } = await provision(
    service('multi', {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: 'https', protocol: 'TCP', port: 443, targetPort: 8443 },
        { name: 'alt', protocol: 'TCP', port: 8080, targetPort: 8080 },
      ],
    }),
  );
  assert.deepEqual(
    { protocol: gce.rule?.protocol, portRange: gce.rule?.portRange },
    { protocol: 'TCP', portRange: '80-8080' },
  );
  assert.deepEqual(gce.instances, [instanceUrl('node-a'), instanceUrl('node-b')]);
  assert.equal(gce.affinity, 'NONE');
  assert.deepEqual(gce.hc, { name: NODE_HC, port: 10256, path: '/healthz' });
  assert.deepEqual(gce.hcFirewall?.allowed, [{ IPProtocol: 'tcp', ports: ['10256'] }]);
  assert.deepEqual(gce.firewall, {
    allowed: [{ IPProtocol: 'tcp', ports: ['80', '443', '8080'] }],
    sourceRanges: ['0.0.0.0/0'],
    destinationRanges: [gce.rule?.ip],
  });
});

test('externalTrafficPolicy Local: its own check on healthCheckNodePort /healthz, opened to Google ranges', async () => {
  const { svc, gce } = await provision(
    service('local', { externalTrafficPolicy: 'Local', sessionAffinity: 'ClientIP' }),
  );
  const port = svc.spec!.healthCheckNodePort!;
  assert.ok(port > 0);
  assert.deepEqual(gce.hc, { name: gce.names.lb, port, path: '/healthz' });
  assert.deepEqual(gce.hcFirewall, {
    allowed: [{ IPProtocol: 'tcp', ports: [String(port)] }],
    sourceRanges: ['130.211.0.0/22', '209.85.152.0/22', '209.85.204.0/22', '35.191.0.0/16'],
  });
  assert.equal(gce.affinity, 'CLIENT_IP');
});

test('loadBalancerSourceRanges are the traffic firewall sourceRanges, patched in place', async () => {
  const { svc, gce } = await provision(
    service('ranges', { loadBalancerSourceRanges: ['203.0.113.0/24', '198.51.100.7/32'] }),
  );
  assert.deepEqual(gce.firewall?.sourceRanges, ['198.51.100.7/32', '203.0.113.0/24']);
  const from = fake.log.entries.length;
  await patchService('ranges', { spec: { loadBalancerSourceRanges: ['203.0.113.0/24'] } });
  await eventually('the dropped range to go', () =>
    observe(svc).firewall?.sourceRanges?.toString() === '203.0.113.0/24' ? true : undefined,
  );
  await waitForSettled(controller!, cluster.core, NS);
  assert.deepEqual(mutationsSince(from), { 'PATCH global/firewalls/{name}': 1 });
});

test('node churn: instances follow with exactly addInstance/removeInstance; converged resyncs write nothing', async () => {
  const core = cluster.core;
  const { svc } = await provision(service('nodes'));
  let from = fake.log.entries.length;
  await addNode(core, 'node-c');
  await eventually('node-c in the pool', () => (observe(svc).instances.length === 3 ? true : undefined));
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(observe(svc).instances, ['node-a', 'node-b', 'node-c'].map(instanceUrl));
  // Every Service's pool gets node-c: one call per pool, nothing else.
  assert.deepEqual(mutationsSince(from), { 'POST regions/{region}/targetPools/{name}/addInstance': poolCount() });

  from = fake.log.entries.length;
  await core.deleteNode({ name: 'node-c' });
  await eventually('node-c out of the pool', () => (observe(svc).instances.length === 2 ? true : undefined));
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(mutationsSince(from), { 'POST regions/{region}/targetPools/{name}/removeInstance': poolCount() });

  // Several resyncs (every 2 s) of every Service, converged: reads only.
  from = fake.log.entries.length;
  await new Promise((r) => setTimeout(r, 4_500));
  assert.ok(
    fake.log.entries.slice(from).some((e) => e.group === 'read'),
    'resyncs ran (they read)',
  );
  assert.deepEqual(mutationsSince(from), {});
});

test('port change: the rule is recreated on the new range and the requested static IP is kept', async () => {
  const requested = '203.0.113.77';
  const { svc, gce } = await provision(service('static', {}, { 'drawbridge.io/load-balancer-ips': requested }));
  assert.equal(gce.rule?.ip, requested);
  assert.deepEqual(gce.address, { ip: requested, status: 'IN_USE' });
  await patchService('static', { spec: { ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 8443 }] } });
  await eventually('the rule on 443', () => (observe(svc).rule?.portRange === '443-443' ? true : undefined));
  await waitForSettled(controller!, cluster.core, NS);
  const now = observe(svc);
  assert.equal(now.rule?.ip, requested);
  assert.deepEqual(now.address, { ip: requested, status: 'IN_USE' }, 'the reservation survived');
  assert.deepEqual(now.firewall?.allowed, [{ IPProtocol: 'tcp', ports: ['443'] }]);
  assert.deepEqual(ingressIps(await readService(cluster.core, NS, 'static')), [requested]);
});

test('drift: a forwarding rule and a target pool deleted behind our back come back on the next resync', async () => {
  const { svc, gce } = await provision(service('drift'));
  const region = { kind: 'regions' as const, name: REGION };
  fake.compute.delete(PROJECT, region, `${P}/regions/${REGION}/forwardingRules/${gce.names.lb}`);
  await fake.settled();
  fake.compute.delete(PROJECT, region, `${P}/regions/${REGION}/targetPools/${gce.names.lb}`);
  await fake.settled();
  assert.equal(observe(svc).rule, undefined);
  const back = await eventually(
    'a resync to restore the rule and the pool',
    () => {
      const o = observe(svc);
      return o.rule && o.instances.length === 2 ? o : undefined;
    },
    15_000,
  );
  assert.deepEqual(back.instances, gce.instances);
  await eventually('the status to carry the restored rule IP', async () =>
    ingressIps(await readService(cluster.core, NS, 'drift'))[0] === observe(svc).rule?.ip ? true : undefined,
  );
  assert.deepEqual(observe(svc).firewall?.destinationRanges, [observe(svc).rule?.ip]);
});

test('network tier: an invalid value is a Warning and no call; Standard, then Premium, recreate the rule in the tier', async () => {
  const core = cluster.core;
  const TIER = 'cloud.google.com/network-tier';
  await core.createNamespacedService({ namespace: NS, body: service('tier', {}, { [TIER]: 'standard' }) });
  const event = await waitForEvent(core, NS, 'tier', 'InvalidNetworkTier');
  assert.equal(event.type, 'Warning');
  assert.match(event.message ?? '', /Standard or Premium/);
  const svc = (await readService(core, NS, 'tier'))!;
  assert.equal(observe(svc).rule, undefined, 'nothing built for an invalid tier');
  assert.equal(observe(svc).instances.length, 0);

  await patchService('tier', { metadata: { annotations: { [TIER]: 'Standard' } } });
  const standard = await eventually('a Standard rule', () => {
    const rule = fake.compute.peek(`${P}/regions/${REGION}/forwardingRules/${observe(svc).names.lb}`);
    return rule?.networkTier === 'STANDARD' ? String(rule.IPAddress) : undefined;
  });
  assert.match(standard, /^198\.51\.100\./, "an IP of the fake's Standard range");
  await eventually('the status to carry it', async () =>
    ingressIps(await readService(core, NS, 'tier'))[0] === standard ? true : undefined,
  );

  await patchService('tier', { metadata: { annotations: { [TIER]: 'Premium' } } });
  const premium = await eventually('a Premium rule', () => {
    const rule = fake.compute.peek(`${P}/regions/${REGION}/forwardingRules/${observe(svc).names.lb}`);
    return rule?.networkTier === 'PREMIUM' ? String(rule.IPAddress) : undefined;
  });
  assert.match(premium, /^203\.0\.113\./);
  await eventually('the status to follow', async () =>
    ingressIps(await readService(core, NS, 'tier'))[0] === premium ? true : undefined,
  );
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(observe(svc).firewall?.destinationRanges, [premium]);
});

test('quota and 5xx faults: a Service still converges', async () => {
  // 25% of every request (reads, writes, operation polls) 503, and 1 write per second: reads are retried by the
  // provider, each attempt gets a little further, the queue's backoff retries it, and what exists is observed.
  fake.faults.errorRate = 0.25;
  fake.quotas.windowMs = 1_000;
  fake.quotas.limits = { write: 1 };
  const from = fake.log.entries.length;
  try {
    const core = cluster.core;
    await core.createNamespacedService({ namespace: NS, body: service('faulty') });
    await eventually(
      'an IP despite the faults',
      async () => ingressIps(await readService(core, NS, 'faulty'))[0],
      60_000,
    );
    const statuses = new Set(fake.log.entries.slice(from).map((e) => e.status));
    assert.ok(statuses.has(503) && statuses.has(403), 'both faults were hit');
  } finally {
    fake.faults.errorRate = 0;
    fake.quotas.limits = {};
  }
  await waitForSettled(controller!, cluster.core, NS, 30_000);
  const svc = (await readService(cluster.core, NS, 'faulty'))!;
  const gce = observe(svc);
  assert.deepEqual(ingressIps(svc), [gce.rule?.ip]);
  assert.equal(gce.instances.length, 2);
});

test('Service deleted: nothing it owned remains; the node check stays while other pools use it', async () => {
  const core = cluster.core;
  const { svc, gce } = await provision(
    service('doomed', { loadBalancerSourceRanges: ['192.0.2.0/24'], externalTrafficPolicy: 'Local' }),
  );
  await core.deleteNamespacedService({ name: 'doomed', namespace: NS });
  await eventually('the Service to be gone (finalizer released)', async () =>
    (await readService(core, NS, 'doomed')) === undefined ? true : undefined,
  );
  await fake.settled();
  const uid = svc.metadata!.uid!;
  const left = fake.compute
    .paths()
    .filter((p) => p.includes(gce.names.lb) || String(fake.compute.peek(p)?.description).includes(uid));
  assert.deepEqual(left, []);
  assert.ok(fake.compute.peek(`${P}/global/httpHealthChecks/${NODE_HC}`), 'other Cluster Services still use it');

  // Delete every remaining Service: the fake ends empty (the shared check goes with its last user).
  const all = await core.listNamespacedService({ namespace: NS });
  for (const s of all.items) await core.deleteNamespacedService({ name: s.metadata!.name!, namespace: NS });
  await eventually(
    'every Service gone',
    async () => ((await core.listNamespacedService({ namespace: NS })).items.length === 0 ? true : undefined),
    30_000,
  );
  await fake.settled();
  assert.deepEqual(fake.compute.paths(), []);
});
