// Over 300 lines: one GCE fake and one control plane shared by the backend-service cases (starting them is the slow part).
// The gcp provider's backend-service load balancers end to end: a real kube-apiserver, the real Controller and the
// GCE fake in this process. Internal passthrough, l4-rbs external with TCP+UDP and IPv6, their node churn, an
// annotation change, drift and deletion; each case asserts what the fake holds (compute.peek is not a request, so
// the request log holds the controller's calls only), the Service's status, and the mutating calls per event
// (the figures of docs/providers/gcp.md). Each case deletes its Services, so the next starts from an empty fake.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type CoreV1Api, PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { instanceGroupName, l4NamesFor } from '../../providers/gcp/names.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import { startGceFake } from '../fakes/gce/server.ts';
import { createNamespace, ingressIps, readService, startController, waitForSettled } from './support.ts';

const CLUSTER = 'itest';
const NS = 'gcp-l4';
const PROJECT = 'itest-proj';
const REGION = 'us-central1';
const ZONE = 'us-central1-b';
const ZONE_C = 'us-central1-c';
const P = `projects/${PROJECT}`;
const R = `${P}/regions/${REGION}`;
const BASE = 'https://www.googleapis.com/compute/v1';
const IG = instanceGroupName(CLUSTER);
const NODE_HC = 'k8s-itest-node';
const INTERNAL = { 'networking.gke.io/load-balancer-type': 'Internal' };
const RBS = { 'cloud.google.com/l4-rbs': 'enabled' };

const fake = await startGceFake({ operationMs: 20 });
for (const n of ['node-a', 'node-b', 'node-c', 'node-x']) fake.seedInstance(PROJECT, ZONE, n);
fake.seedInstance(PROJECT, ZONE_C, 'node-d');
// The default subnetwork is dual-stack (an internal and an external IPv6 prefix); `other` is IPv4 only.
fake.compute.seedSubnetwork(PROJECT, REGION, 'default', '10.128.0.0/20', {
  internalIpv6Prefix: 'fd20:0:0:1::/64',
  externalIpv6Prefix: '2600:1900:4000:1::/64',
});
fake.compute.seedSubnetwork(PROJECT, REGION, 'other', '10.130.0.0/20');
after(() => fake.close());

let controller: Controller | undefined;
const cluster = useControlPlane({
  setup: async (c) => {
    await createNamespace(c.core, NS);
    await addNode(c.core, 'node-a');
    await addNode(c.core, 'node-b');
    // Not eligible: excluded from external load balancers, so in no instance group.
    await addNode(c.core, 'node-x', ZONE, { 'node.kubernetes.io/exclude-from-external-load-balancers': 'true' });
    controller = await startController(c.kubeConfig, {
      provider: 'gcp',
      providerConfig: { project: PROJECT, region: REGION, endpoint: fake.endpoint, subnetwork: 'default' },
      clusterName: CLUSTER,
      // Short, so the drift case sees a resync soon; a converged resync costs no write (asserted below).
      resyncSeconds: 2,
    });
  },
  teardown: async () => controller?.stop(),
});

async function addNode(core: CoreV1Api, name: string, zone = ZONE, labels?: Record<string, string>): Promise<void> {
  await core.createNode({
    body: {
      metadata: { name, labels },
      spec: { providerID: `gce://${PROJECT}/${zone}/${name}` },
      status: { addresses: [{ type: 'InternalIP', address: `10.128.1.${name.charCodeAt(5) - 90}` }] },
    },
  });
}

function service(name: string, annotations: Record<string, string>, spec: Partial<V1Service['spec']> = {}): V1Service {
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

const instance = (n: string, zone = ZONE) => `${P}/zones/${zone}/instances/${n}`;
const groupPath = (zone = ZONE) => `${P}/zones/${zone}/instanceGroups/${IG}`;
const peek = (path: string) => fake.compute.peek(path);
const mutationsSince = (from: number) =>
  fake.log.counts((e) => e.group === 'write' && fake.log.entries.indexOf(e) >= from);

/** What the fake holds for one Service's backend-service load balancer. */
function observe(svc: V1Service) {
  const names = l4NamesFor({ clusterName: CLUSTER, uid: svc.metadata!.uid! });
  const bs = peek(`${R}/backendServices/${names.lb}`);
  const hcName =
    String((bs?.healthChecks as string[] | undefined)?.[0] ?? '')
      .split('/')
      .at(-1) ?? '';
  return {
    names,
    rule: peek(`${R}/forwardingRules/${names.lb}`),
    ipv6Rule: peek(`${R}/forwardingRules/${names.ipv6Rule}`),
    bs,
    hc: peek(`${R}/healthChecks/${hcName}`),
    hcFirewall: peek(`${P}/global/firewalls/${hcName === NODE_HC ? `${NODE_HC}-hc` : `${hcName}-hc`}`),
    firewall: peek(`${P}/global/firewalls/${names.trafficFirewall}`),
    ipv6Firewall: peek(`${P}/global/firewalls/${names.ipv6TrafficFirewall}`),
    groups: Object.fromEntries(
      [ZONE, ZONE_C].filter((z) => peek(groupPath(z))).map((z) => [z, fake.compute.membersOf(groupPath(z))]),
    ),
  };
}

/** Creates the Service, waits for its IP and for the controller to settle; answers the Service and the write count. */
async function provision(svc: V1Service) {
  const from = fake.log.entries.length;
  await cluster.core.createNamespacedService({ namespace: NS, body: svc });
  const name = svc.metadata!.name!;
  await eventually(`an IP on ${name}`, async () => ingressIps(await readService(cluster.core, NS, name))[0], 30_000);
  await waitForSettled(controller!, cluster.core, NS, 30_000);
  return { svc: (await readService(cluster.core, NS, name))!, created: mutationsSince(from) };
}

async function patchService(name: string, patch: object): Promise<void> {
  await cluster.core.patchNamespacedService(
    { name, namespace: NS, body: patch },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

/** Deletes the Service, waits for its finalizer to go; answers the writes its deletion cost. */
async function remove(name: string) {
  const from = fake.log.entries.length;
  await cluster.core.deleteNamespacedService({ name, namespace: NS });
  await eventually(
    `${name} gone`,
    async () => ((await readService(cluster.core, NS, name)) ? undefined : true),
    30_000,
  );
  await fake.settled();
  return mutationsSince(from);
}

/** Several resyncs (every 2 s) of a converged Service: reads only. */
async function assertQuiet(): Promise<void> {
  const from = fake.log.entries.length;
  await new Promise((r) => setTimeout(r, 5_000));
  assert.ok(
    fake.log.entries.slice(from).some((e) => e.group === 'read'),
    'resyncs ran (they read)',
  );
  assert.deepEqual(mutationsSince(from), {}, 'a converged resync writes nothing');
}

const GOOGLE_RANGES = ['130.211.0.0/22', '35.191.0.0/16'];

test('internal, Cluster policy: built, nodes join and leave, quiet resyncs, drift repaired, deleted to nothing', async () => {
  const core = cluster.core;
  const global = { ...INTERNAL, 'networking.gke.io/internal-load-balancer-allow-global-access': 'true' };
  const { svc, created } = await provision(service('ilb', global));
  assert.deepEqual(created, {
    'POST zones/{zone}/instanceGroups': 1,
    'POST zones/{zone}/instanceGroups/{name}/addInstances': 1,
    'POST regions/{region}/healthChecks': 1,
    'POST global/firewalls': 2,
    'POST regions/{region}/backendServices': 1,
    'POST regions/{region}/forwardingRules': 1,
  });
  let gce = observe(svc);
  assert.deepEqual(ingressIps(svc), [gce.rule?.IPAddress]);
  assert.match(String(gce.rule?.IPAddress), /^10\.128\.0\./, 'an address of the subnetwork');
  assert.deepEqual(
    {
      scheme: gce.rule?.loadBalancingScheme,
      protocol: gce.rule?.IPProtocol,
      ports: gce.rule?.ports,
      subnetwork: gce.rule?.subnetwork,
      global: gce.rule?.allowGlobalAccess,
      backendService: gce.rule?.backendService,
    },
    {
      scheme: 'INTERNAL',
      protocol: 'TCP',
      ports: ['80'],
      subnetwork: `${BASE}/${R}/subnetworks/default`,
      global: true,
      backendService: `${BASE}/${R}/backendServices/${gce.names.lb}`,
    },
  );
  // One group in the nodes' zone, the eligible nodes only (node-x is excluded).
  assert.deepEqual(gce.groups, { [ZONE]: [instance('node-a'), instance('node-b')] });
  assert.deepEqual(
    { scheme: gce.bs?.loadBalancingScheme, protocol: gce.bs?.protocol, backends: gce.bs?.backends },
    {
      scheme: 'INTERNAL',
      protocol: 'TCP',
      backends: [{ group: `${BASE}/${groupPath()}`, balancingMode: 'CONNECTION' }],
    },
  );
  assert.deepEqual([gce.hc?.name, gce.hc?.httpHealthCheck], [NODE_HC, { port: 10256, requestPath: '/healthz' }]);
  assert.deepEqual(gce.hcFirewall?.allowed, [{ IPProtocol: 'tcp', ports: ['10256'] }]);
  for (const range of GOOGLE_RANGES)
    assert.ok(((gce.hcFirewall?.sourceRanges as string[] | undefined) ?? []).includes(range), range);
  assert.deepEqual(
    { allowed: gce.firewall?.allowed, to: gce.firewall?.destinationRanges },
    { allowed: [{ IPProtocol: 'tcp', ports: ['80'] }], to: [gce.rule?.IPAddress] },
  );

  // A node joins the zone: one addInstances. It leaves: one removeInstances.
  let from = fake.log.entries.length;
  await addNode(core, 'node-c');
  await eventually('node-c in the group', () => (observe(svc).groups[ZONE]?.length === 3 ? true : undefined));
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(mutationsSince(from), { 'POST zones/{zone}/instanceGroups/{name}/addInstances': 1 });
  from = fake.log.entries.length;
  await core.deleteNode({ name: 'node-c' });
  await eventually('node-c out', () => (observe(svc).groups[ZONE]?.length === 2 ? true : undefined));
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(mutationsSince(from), { 'POST zones/{zone}/instanceGroups/{name}/removeInstances': 1 });

  // A node in a new zone: that zone's group is made, filled, and added to the backend service.
  from = fake.log.entries.length;
  await addNode(core, 'node-d', ZONE_C);
  await eventually('a group in the new zone', () => (observe(svc).groups[ZONE_C]?.length === 1 ? true : undefined));
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(mutationsSince(from), {
    'POST zones/{zone}/instanceGroups': 1,
    'POST zones/{zone}/instanceGroups/{name}/addInstances': 1,
    'PATCH regions/{region}/backendServices/{name}': 1,
  });
  assert.equal((observe(svc).bs?.backends as unknown[] | undefined)?.length, 2);
  // It leaves: the member goes and the backend service lets go of the (empty) group.
  from = fake.log.entries.length;
  await core.deleteNode({ name: 'node-d' });
  await eventually('node-d out', () => (observe(svc).groups[ZONE_C]?.length === 0 ? true : undefined));
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(mutationsSince(from), {
    'POST zones/{zone}/instanceGroups/{name}/removeInstances': 1,
    'PATCH regions/{region}/backendServices/{name}': 1,
  });
  assert.deepEqual(observe(svc).bs?.backends, [{ group: `${BASE}/${groupPath()}`, balancingMode: 'CONNECTION' }]);

  await assertQuiet();

  // Drift: the rule, the backend service and the traffic firewall deleted behind the controller's back.
  gce = observe(svc);
  const region = { kind: 'regions' as const, name: REGION };
  fake.compute.delete(PROJECT, region, `${R}/forwardingRules/${gce.names.lb}`);
  await fake.settled();
  fake.compute.delete(PROJECT, region, `${R}/backendServices/${gce.names.lb}`);
  fake.compute.delete(PROJECT, { kind: 'global' }, `${P}/global/firewalls/${gce.names.trafficFirewall}`);
  await fake.settled();
  from = fake.log.entries.length;
  const back = await eventually(
    'a resync to rebuild them',
    () => {
      const o = observe(svc);
      return o.rule && o.bs && o.firewall ? o : undefined;
    },
    15_000,
  );
  await waitForSettled(controller!, core, NS);
  assert.deepEqual(mutationsSince(from), {
    'POST regions/{region}/backendServices': 1,
    'POST regions/{region}/forwardingRules': 1,
    'POST global/firewalls': 1,
  });
  assert.equal(back.rule?.allowGlobalAccess, true);
  await eventually('the status to carry the rebuilt rule IP', async () =>
    ingressIps(await readService(core, NS, 'ilb'))[0] === observe(svc).rule?.IPAddress ? true : undefined,
  );
  assert.deepEqual(observe(svc).firewall?.destinationRanges, [observe(svc).rule?.IPAddress]);

  // Deleted: the last backend-service load balancer takes the cluster's groups and node check with it.
  assert.deepEqual(await remove('ilb'), {
    'DELETE regions/{region}/forwardingRules/{name}': 1,
    'DELETE regions/{region}/backendServices/{name}': 1,
    'DELETE global/firewalls/{name}': 2,
    'DELETE regions/{region}/healthChecks/{name}': 1,
    'DELETE zones/{zone}/instanceGroups/{name}': 2,
  });
  assert.deepEqual(fake.compute.paths(), []);
});

test('annotation changes: target pool -> internal (address released), subnet moved, -> l4-rbs, deleted to nothing', async () => {
  const requested = '203.0.113.60';
  const { svc } = await provision(service('switch', { 'drawbridge.io/load-balancer-ips': requested }));
  const lb = observe(svc).names.lb;
  assert.deepEqual(ingressIps(svc), [requested]);
  assert.equal(peek(`${R}/addresses/${lb}`)?.address, requested, 'reserved for the target pool');
  assert.ok(peek(`${R}/targetPools/${lb}`));

  // To internal, in the `other` subnetwork: the target-pool load balancer and its address go first.
  let from = fake.log.entries.length;
  await patchService('switch', {
    metadata: {
      annotations: {
        'drawbridge.io/load-balancer-ips': null,
        ...INTERNAL,
        'networking.gke.io/internal-load-balancer-subnet': 'other',
      },
    },
  });
  const internalIp = await eventually('an internal IP in `other`', async () =>
    ingressIps(await readService(cluster.core, NS, 'switch')).find((ip) => ip.startsWith('10.130.')),
  );
  await waitForSettled(controller!, cluster.core, NS);
  assert.deepEqual(
    fake.compute.paths().filter((p) => /targetPools|addresses|httpHealthChecks/.test(p)),
    [],
    'the pool, its legacy check and the reserved address are gone',
  );
  // The target-pool load balancer goes (its address released), then an internal one is built.
  assert.deepEqual(mutationsSince(from), {
    'DELETE regions/{region}/forwardingRules/{name}': 1,
    'DELETE regions/{region}/targetPools/{name}': 1,
    'DELETE global/httpHealthChecks/{name}': 1,
    'DELETE global/firewalls/{name}': 2,
    'DELETE regions/{region}/addresses/{name}': 1,
    'POST zones/{zone}/instanceGroups': 1,
    'POST zones/{zone}/instanceGroups/{name}/addInstances': 1,
    'POST regions/{region}/healthChecks': 1,
    'POST global/firewalls': 2,
    'POST regions/{region}/backendServices': 1,
    'POST regions/{region}/forwardingRules': 1,
  });
  let gce = observe(svc);
  assert.equal(gce.rule?.IPAddress, internalIp);
  assert.equal(gce.rule?.subnetwork, `${BASE}/${R}/subnetworks/other`);

  // The subnet annotation changes: the rule is recreated in the new subnetwork, its firewall follows the IP.
  from = fake.log.entries.length;
  await patchService('switch', {
    metadata: { annotations: { 'networking.gke.io/internal-load-balancer-subnet': null } },
  });
  const defaultIp = await eventually('an internal IP in `default`', async () =>
    ingressIps(await readService(cluster.core, NS, 'switch')).find((ip) => ip.startsWith('10.128.')),
  );
  await waitForSettled(controller!, cluster.core, NS);
  assert.deepEqual(mutationsSince(from), {
    'DELETE regions/{region}/forwardingRules/{name}': 1,
    'POST regions/{region}/forwardingRules': 1,
    'PATCH global/firewalls/{name}': 1,
  });
  gce = observe(svc);
  assert.equal(gce.rule?.subnetwork, `${BASE}/${R}/subnetworks/default`);
  assert.deepEqual(gce.firewall?.destinationRanges, [defaultIp]);

  // Internal -> external behind l4-rbs: the backend service changes scheme, so it and its rule are recreated.
  from = fake.log.entries.length;
  await patchService('switch', {
    metadata: { annotations: { 'networking.gke.io/load-balancer-type': null, ...RBS } },
  });
  const externalIp = await eventually('an external IP', async () =>
    ingressIps(await readService(cluster.core, NS, 'switch')).find((ip) => ip.startsWith('203.0.113.')),
  );
  await waitForSettled(controller!, cluster.core, NS);
  assert.deepEqual(mutationsSince(from), {
    'DELETE regions/{region}/forwardingRules/{name}': 1,
    'DELETE regions/{region}/backendServices/{name}': 1,
    'POST regions/{region}/backendServices': 1,
    'POST regions/{region}/forwardingRules': 1,
    'PATCH global/firewalls/{name}': 1,
  });
  gce = observe(svc);
  assert.deepEqual(
    [gce.bs?.loadBalancingScheme, gce.rule?.loadBalancingScheme, gce.rule?.IPAddress, gce.rule?.portRange],
    ['EXTERNAL', 'EXTERNAL', externalIp, '80-80'],
  );
  assert.equal(gce.rule?.subnetwork, undefined, 'an external IPv4 rule is in no subnetwork');

  await remove('switch');
  assert.deepEqual(fake.compute.paths(), []);
});

test('l4-rbs, Local policy, dual-stack, TCP+UDP: one L3_DEFAULT rule per family, its own check', async () => {
  const { svc, created } = await provision(
    service('dns', RBS, {
      externalTrafficPolicy: 'Local',
      ipFamilyPolicy: 'RequireDualStack',
      ipFamilies: ['IPv4', 'IPv6'],
      ports: [
        { name: 'dns', protocol: 'TCP', port: 53, targetPort: 5353 },
        { name: 'dns-udp', protocol: 'UDP', port: 53, targetPort: 5353 },
      ],
    }),
  );
  assert.deepEqual(created, {
    'POST zones/{zone}/instanceGroups': 1,
    'POST zones/{zone}/instanceGroups/{name}/addInstances': 1,
    'POST regions/{region}/healthChecks': 1,
    'POST global/firewalls': 3,
    'POST regions/{region}/backendServices': 1,
    'POST regions/{region}/forwardingRules': 2,
  });
  const gce = observe(svc);
  const v4 = String(gce.rule?.IPAddress);
  const v6 = String(gce.ipv6Rule?.IPAddress).split('/')[0] ?? '';
  assert.match(v4, /^203\.0\.113\./);
  assert.match(v6, /^2600:1900:4000:1:/, "from the subnetwork's external IPv6 prefix");
  await eventually('both families in the status', async () => {
    const ips = ingressIps(await readService(cluster.core, NS, 'dns'));
    return ips.length === 2 ? ips : undefined;
  }).then((ips) => assert.deepEqual(ips.toSorted(), [v4, v6].toSorted()));
  for (const rule of [gce.rule, gce.ipv6Rule]) {
    assert.deepEqual([rule?.IPProtocol, rule?.allPorts, rule?.loadBalancingScheme], ['L3_DEFAULT', true, 'EXTERNAL']);
  }
  assert.deepEqual([gce.ipv6Rule?.ipVersion, gce.ipv6Rule?.subnetwork], ['IPV6', `${BASE}/${R}/subnetworks/default`]);
  assert.deepEqual([gce.bs?.loadBalancingScheme, gce.bs?.protocol], ['EXTERNAL', 'UNSPECIFIED']);
  const port = svc.spec!.healthCheckNodePort!;
  assert.deepEqual([gce.hc?.name, gce.hc?.httpHealthCheck], [gce.names.lb, { port, requestPath: '/healthz' }]);
  assert.deepEqual(gce.hcFirewall?.allowed, [{ IPProtocol: 'tcp', ports: [String(port)] }]);
  for (const range of GOOGLE_RANGES)
    assert.ok(((gce.hcFirewall?.sourceRanges as string[] | undefined) ?? []).includes(range), range);
  const both = [
    { IPProtocol: 'tcp', ports: ['53'] },
    { IPProtocol: 'udp', ports: ['53'] },
  ];
  assert.deepEqual([gce.firewall?.allowed, gce.firewall?.destinationRanges], [both, [v4]]);
  assert.deepEqual([gce.ipv6Firewall?.allowed, gce.ipv6Firewall?.sourceRanges], [both, ['::/0']]);
  assert.deepEqual(gce.groups, { [ZONE]: [instance('node-a'), instance('node-b')] });

  await assertQuiet();
  assert.deepEqual(await remove('dns'), {
    'DELETE regions/{region}/forwardingRules/{name}': 2,
    'DELETE regions/{region}/backendServices/{name}': 1,
    'DELETE regions/{region}/healthChecks/{name}': 1,
    'DELETE global/firewalls/{name}': 3,
    'DELETE zones/{zone}/instanceGroups/{name}': 1,
  });
  assert.deepEqual(fake.compute.paths(), []);
});

test('internal, dual-stack: the IPv6 rule takes an address of the internal IPv6 prefix', async () => {
  const { svc } = await provision(
    service('ilb6', INTERNAL, { ipFamilyPolicy: 'RequireDualStack', ipFamilies: ['IPv4', 'IPv6'] }),
  );
  const gce = observe(svc);
  assert.deepEqual(
    [gce.ipv6Rule?.loadBalancingScheme, gce.ipv6Rule?.ipVersion, gce.ipv6Rule?.subnetwork],
    ['INTERNAL', 'IPV6', `${BASE}/${R}/subnetworks/default`],
  );
  assert.match(String(gce.ipv6Rule?.IPAddress), /^fd20:0:0:1:/);
  await remove('ilb6');
  assert.deepEqual(fake.compute.paths(), []);
});
