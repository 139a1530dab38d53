// Over 300 lines: every node case shares one control plane and its health servers.
// Nodes end to end against a real apiserver and a real Controller: which nodes become backends, how a burst of
// node changes coalesces into one hosts update per Service, and the node health prober (real HTTP healthz servers
// on 127.42.x.y loopback addresses, the nodes' InternalIPs) reporting through metrics and Events without ever
// changing pool membership.
//
// Each test runs its own controller with its own loadBalancerClass and health port, creates its own nodes, and
// deletes them at the end, so every test starts from a cluster without nodes.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestContext, test } from 'node:test';
import {
  type CoreV1Api,
  type CoreV1Event,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
  type V1Taint,
} from '@kubernetes/client-node';
import type { ControllerConfigInput } from '../../src/core/controller/config.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { eventually, useControlPlane } from '../env/harness.ts';
import {
  createNamespace,
  createPool,
  createService,
  eventsFor,
  installAddressPoolCrd,
  lbService,
  metricValue,
  readService,
  startController,
  waitForCaughtUp,
  waitForIngress,
  waitForSettled,
} from './support.ts';

const EXCLUDE = 'node.kubernetes.io/exclude-from-external-load-balancers';

const cluster = useControlPlane({
  setup: async (c) => {
    await installAddressPoolCrd(c.kubeConfig);
    await createPool(c.kubeConfig, 'nodes-pool', ['192.0.2.0/24']);
  },
});

// ---- healthz servers: one per node address, all on one port, like kube-proxy's :10256 on every node.

interface Healthz {
  server: Server;
  /** The status code it answers with. */
  code: number;
  requests: string[];
  /** Answers sent with a non-2xx code. */
  failures: number;
}

class HealthServers {
  port = 0;
  readonly #byAddress = new Map<string, Healthz>();

  /** Starts a server on every address, all on one port (the first address picks a free one). */
  static async start(addresses: string[]): Promise<HealthServers> {
    for (let attempt = 0; ; attempt++) {
      const servers = new HealthServers();
      try {
        for (const address of addresses) await servers.add(address);
        return servers;
      } catch (error) {
        await servers.close();
        if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || attempt >= 5) throw error;
      }
    }
  }

  /** A healthz server on address:port (the shared port unless given). */
  async add(address: string, port = this.port): Promise<Healthz> {
    const h: Healthz = {
      code: 200,
      requests: [],
      failures: 0,
      server: createServer((req, res) => {
        h.requests.push(`${req.method} ${req.url}`);
        if (h.code >= 300) h.failures++;
        res.writeHead(h.code, { 'content-type': 'application/json' }).end('{}');
      }),
    };
    await new Promise<void>((resolve, reject) => {
      h.server.once('error', reject);
      h.server.listen(port, address, () => resolve());
    });
    if (this.port === 0) this.port = (h.server.address() as AddressInfo).port;
    this.#byAddress.set(`${address}:${(h.server.address() as AddressInfo).port}`, h);
    return h;
  }

  get(address: string, port = this.port): Healthz {
    const h = this.#byAddress.get(`${address}:${port}`);
    if (!h) throw new Error(`no healthz server on ${address}:${port}`);
    return h;
  }

  /** Stops answering at all: probes then see a refused connection. */
  async stop(address: string, port = this.port): Promise<void> {
    const h = this.get(address, port);
    this.#byAddress.delete(`${address}:${port}`);
    await closeServer(h.server);
  }

  async close(): Promise<void> {
    await Promise.all([...this.#byAddress.values()].map((h) => closeServer(h.server)));
    this.#byAddress.clear();
  }
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

// ---- nodes

interface NodeShape {
  address?: string;
  providerID?: string;
  labels?: Record<string, string>;
  taints?: V1Taint[];
  ready?: boolean;
}

function nodeBody(name: string, shape: NodeShape): V1Node {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...shape.labels } },
    spec: { providerID: shape.providerID, taints: shape.taints },
    status: {
      addresses: [
        { type: 'Hostname', address: name },
        ...(shape.address ? [{ type: 'InternalIP', address: shape.address }] : []),
      ],
      conditions: [{ type: 'Ready', status: shape.ready === false ? 'False' : 'True', reason: 'Test' }],
    },
  };
}

async function createNodes(defer: Defer, core: CoreV1Api, nodes: Record<string, NodeShape>): Promise<void> {
  defer(() => deleteNodes(core, Object.keys(nodes)));
  await Promise.all(Object.entries(nodes).map(([name, shape]) => core.createNode({ body: nodeBody(name, shape) })));
}

async function deleteNodes(core: CoreV1Api, names: string[]): Promise<void> {
  await Promise.all(
    names.map((name) =>
      core.deleteNode({ name }).catch((e: { code?: number }) => {
        if (e.code !== 404) throw e;
      }),
    ),
  );
}

async function labelNode(core: CoreV1Api, name: string, labels: Record<string, string | null>): Promise<void> {
  await core.patchNode(
    { name, body: { metadata: { labels } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

// ---- the controller and what it reports

/**
 * A controller of its own class, stopped when the test ends (before its nodes are deleted). It drives the fake
 * provider, which places the nodes behind each load balancer, so a host update is a real change with an Event;
 * metal places no nodes behind an address, so for it a node change rightly changes (and reports) nothing.
 */
async function controllerFor(
  defer: Defer,
  className: string,
  overrides: Partial<ControllerConfigInput>,
): Promise<{ controller: Controller; cls: string }> {
  const cls = `nodes.test/${className}`;
  const controller = await startController(cluster.kubeConfig, {
    provider: 'fake',
    loadBalancerClass: cls,
    identity: `nodes-test-${className}`,
    resyncSeconds: 0,
    ...overrides,
  });
  defer(() => controller.stop());
  return { controller, cls };
}

async function serveServices(defer: Defer, cls: string, namespace: string, names: string[]): Promise<void> {
  const { core } = cluster;
  await createNamespace(core, namespace);
  for (const name of names) await createService(core, namespace, lbService(name, { loadBalancerClass: cls }));
  defer(async () => {
    // Release the Services while their controller still runs, so the namespace is left clean.
    await Promise.all(names.map((name) => core.deleteNamespacedService({ name, namespace })));
    await eventually('the Services to be deleted', async () => {
      for (const name of names) if (await readService(core, namespace, name)) return undefined;
      return true;
    });
  });
  for (const name of names) await waitForIngress(core, namespace, name);
}

const hostsUpdated = (c: Controller) => metricValue(c, 'drawbridge_reconcile_total', { outcome: 'hosts-updated' });
const reconciles = (c: Controller) => metricValue(c, 'drawbridge_reconcile_total');

async function hostUpdateEvents(namespace: string, service: string): Promise<CoreV1Event[]> {
  return (await eventsFor(cluster.core, namespace, service)).filter((e) => e.reason === 'UpdatedLoadBalancer');
}

async function waitForHostsEvent(namespace: string, service: string, nodes: number, count = 1): Promise<CoreV1Event> {
  const message = `Updated load balancer with ${nodes} node(s)`;
  return eventually(`"${message}" (count ${count}) on ${namespace}/${service}`, async () =>
    (await hostUpdateEvents(namespace, service)).find((e) => e.message === message && e.count === count),
  );
}

/** The node label of every drawbridge_node_health series, with its value. */
async function nodeHealthSeries(c: Controller): Promise<Record<string, number>> {
  const metric = c.metrics.registry.getSingleMetric('drawbridge_node_health');
  if (!metric) throw new Error('no drawbridge_node_health metric');
  const { values } = await metric.get();
  return Object.fromEntries(values.map((v) => [String(v.labels.node), v.value]));
}

async function waitForNodeHealth(c: Controller, node: string, value: 0 | 1): Promise<void> {
  await eventually(`drawbridge_node_health{node="${node}"} == ${value}`, async () =>
    (await nodeHealthSeries(c))[node] === value ? true : undefined,
  );
}

/** An Event on a Node: cluster-scoped objects' Events live in `default`. */
async function waitForNodeEvent(node: string, reason: string, after = 0): Promise<CoreV1Event> {
  return eventually(`a ${reason} Event on Node ${node}`, async () =>
    (await eventsFor(cluster.core, 'default', node)).find(
      (e) => e.reason === reason && new Date(e.lastTimestamp ?? 0).getTime() >= after,
    ),
  );
}

/**
 * Waits until the probe round under way at this call (if any) has finished and `rounds` more full rounds have run,
 * as seen from a target probed once per round. Rounds never overlap: each new request after the first proves that
 * the round before it finished, and the second one comes from a round that started after this call.
 */
async function probeRounds(h: Healthz, rounds: number): Promise<void> {
  const from = h.requests.length;
  await eventually(`${rounds} full probe round(s)`, () => (h.requests.length >= from + rounds + 2 ? true : undefined));
}

type Defer = (cleanup: () => unknown) => void;

/** Cleanups run last-registered first (t.after runs hooks in registration order), all of them even if one fails. */
function deferrer(t: TestContext): Defer {
  const cleanups: Array<() => unknown> = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch((e) => errors.push(e));
    if (errors.length > 0) throw errors[0];
  });
  return (cleanup) => cleanups.push(cleanup);
}

// ---- tests

test('only eligible nodes are backends: excluded, autoscaler-tainted and unreachable nodes are not; NotReady is', async (t) => {
  const defer = deferrer(t);
  const { core } = cluster;
  const ns = 'eligibility';
  const addresses = {
    'ready-a': '127.42.1.1',
    'ready-b': '127.42.1.2',
    'not-ready': '127.42.1.3',
    excluded: '127.42.1.4',
    tainted: '127.42.1.5',
  };
  const health = await HealthServers.start(Object.values(addresses));
  defer(() => health.close());
  const { controller, cls } = await controllerFor(defer, 'eligibility', {
    nodeDebounceSeconds: 0.5,
    nodeDebounceMaxSeconds: 5,
    health: { port: health.port, intervalSeconds: 0.2, timeoutSeconds: 1, failureThreshold: 3 },
  });
  await serveServices(defer, cls, ns, ['web']);

  await createNodes(defer, core, {
    'ready-a': { address: addresses['ready-a'] },
    'ready-b': { address: addresses['ready-b'] },
    'not-ready': { address: addresses['not-ready'], ready: false },
    'cloud-only': { providerID: 'gce://project/zone/cloud-only' },
    excluded: { address: addresses.excluded, labels: { [EXCLUDE]: 'true' } },
    tainted: {
      address: addresses.tainted,
      taints: [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }],
    },
    'no-address': {},
  });

  // ready-a, ready-b, not-ready (KEP-3458: readiness is not a criterion) and cloud-only (a providerID suffices).
  await waitForHostsEvent(ns, 'web', 4);
  const counts = (await hostUpdateEvents(ns, 'web')).map((e) => Number(/with (\d+) node/.exec(e.message ?? '')?.[1]));
  assert.ok(
    counts.every((n) => n <= 4),
    `no hosts update ever counted an ineligible node: ${counts}`,
  );

  // The prober probes eligible nodes that have an address, and only those.
  await eventually('a probe of every eligible node with an address', () =>
    ['ready-a', 'ready-b', 'not-ready'].every(
      (n) => health.get(addresses[n as keyof typeof addresses]).requests.length > 0,
    )
      ? true
      : undefined,
  );
  // A couple more rounds, from a controller that has seen every node: still nothing for the others.
  await waitForCaughtUp(controller, core, ns);
  await probeRounds(health.get(addresses['ready-a']), 2);
  assert.deepEqual(await nodeHealthSeries(controller), { 'not-ready': 1, 'ready-a': 1, 'ready-b': 1 });
  assert.deepEqual(health.get(addresses.excluded).requests, [], 'an excluded node is not probed');
  assert.deepEqual(health.get(addresses.tainted).requests, [], 'a node about to be removed is not probed');
  assert.deepEqual(health.get(addresses['ready-a']).requests.slice(0, 1), ['GET /healthz']);

  // The label is what kept `excluded` out: a value that parses as false lets it in.
  await labelNode(core, 'excluded', { [EXCLUDE]: 'false' });
  await waitForHostsEvent(ns, 'web', 5);
  await waitForNodeHealth(controller, 'excluded', 1);

  // A node that becomes excluded leaves the backends, and the health report.
  await labelNode(core, 'ready-b', { [EXCLUDE]: 'true' });
  await waitForHostsEvent(ns, 'web', 4, 2);
  await eventually('ready-b to leave the node health report', async () =>
    'ready-b' in (await nodeHealthSeries(controller)) ? undefined : true,
  );
  assert.deepEqual(await nodeHealthSeries(controller), { excluded: 1, 'not-ready': 1, 'ready-a': 1 });
  assert.equal(await metricValue(controller, 'drawbridge_reconcile_total', { outcome: 'error' }), 0);
});

test('a burst of node changes gives each Service exactly one hosts update', async (t) => {
  const defer = deferrer(t);
  const { core } = cluster;
  const ns = 'burst';
  const services = ['alpha', 'beta', 'gamma'];
  const names = Array.from({ length: 10 }, (_, i) => `burst-${i}`);
  const addressOf = (i: number) => `127.42.2.${i + 1}`;
  const health = await HealthServers.start(names.map((_, i) => addressOf(i)));
  defer(() => health.close());
  // Debounce window far longer than a burst of API calls takes, far shorter than the waits below.
  const windowSeconds = 1.5;
  const { controller, cls } = await controllerFor(defer, 'burst', {
    nodeDebounceSeconds: windowSeconds,
    nodeDebounceMaxSeconds: 20,
    health: { port: health.port, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 3 },
  });
  await serveServices(defer, cls, ns, services);
  await waitForSettled(controller, core, ns); // the Services' own follow-ups (finalizer and status writes come back)

  /** Runs a burst and returns how many reconciles (all outcomes, and hosts-updated) it caused. */
  const burst = async (what: string, change: () => Promise<unknown>, expectHostsUpdates: number) => {
    const total0 = await reconciles(controller);
    const hosts0 = await hostsUpdated(controller);
    await change();
    if (expectHostsUpdates > 0) {
      await eventually(`${expectHostsUpdates} hosts updates after ${what}`, async () =>
        (await hostsUpdated(controller)) >= hosts0 + expectHostsUpdates ? true : undefined,
      );
    }
    // Every change of the burst seen, its debounce window flushed, the reconciles done: a second flush would have run.
    await waitForSettled(controller, core, ns);
    return { total: (await reconciles(controller)) - total0, hosts: (await hostsUpdated(controller)) - hosts0 };
  };

  // Ten new nodes at once.
  const added = await burst(
    'adding 10 nodes',
    () => createNodes(defer, core, Object.fromEntries(names.map((n, i) => [n, { address: addressOf(i) }]))),
    services.length,
  );
  assert.deepEqual(added, { total: services.length, hosts: services.length }, 'one reconcile per Service');
  for (const svc of services) {
    const events = await hostUpdateEvents(ns, svc);
    assert.deepEqual(
      events.map((e) => `${e.message} x${e.count}`),
      ['Updated load balancer with 10 node(s) x1'],
      `${svc}: one hosts update for the whole burst`,
    );
  }

  // All ten relabelled out of the load balancers at once.
  const relabelled = await burst(
    'excluding 10 nodes',
    () => Promise.all(names.map((n) => labelNode(core, n, { [EXCLUDE]: 'true' }))),
    services.length,
  );
  assert.deepEqual(relabelled, { total: services.length, hosts: services.length });
  for (const svc of services) {
    const events = await hostUpdateEvents(ns, svc);
    assert.deepEqual(
      events.map((e) => `${e.message} x${e.count}`).sort(),
      ['Updated load balancer with 0 node(s) x1', 'Updated load balancer with 10 node(s) x1'],
      `${svc}: one more hosts update for the relabel burst`,
    );
  }

  // A burst that leaves the eligible set as it was costs no reconcile at all.
  const cosmetic = await burst(
    'relabelling 10 nodes cosmetically',
    async () => {
      await Promise.all(names.map((n) => labelNode(core, n, { team: 'blue' })));
      await eventually('the controller to see the new labels', () =>
        names.every((n) => controller.caches.nodes.get(n)?.metadata?.labels?.team === 'blue') ? true : undefined,
      );
    },
    0,
  );
  assert.deepEqual(cosmetic, { total: 0, hosts: 0 });
});

test('the prober reports an unhealthy node in metrics and Events, and keeps it a backend', async (t) => {
  const defer = deferrer(t);
  const { core } = cluster;
  const ns = 'health';
  const addresses = { 'h-1': '127.42.3.1', 'h-2': '127.42.3.2', 'h-3': '127.42.3.3', 'h-4': '127.42.3.4' };
  const health = await HealthServers.start(Object.values(addresses));
  defer(() => health.close());
  const failureThreshold = 3;
  await createNodes(defer, core, {
    'h-1': { address: addresses['h-1'] },
    'h-2': { address: addresses['h-2'] },
    'h-3': { address: addresses['h-3'] },
  });
  const { controller, cls } = await controllerFor(defer, 'health', {
    nodeDebounceSeconds: 0.2,
    nodeDebounceMaxSeconds: 2,
    health: { port: health.port, intervalSeconds: 0.2, timeoutSeconds: 1, failureThreshold },
  });
  await serveServices(defer, cls, ns, ['web']);
  for (const n of ['h-1', 'h-2', 'h-3']) await waitForNodeHealth(controller, n, 1);
  const hosts0 = await hostsUpdated(controller);
  assert.deepEqual(await hostUpdateEvents(ns, 'web'), [], 'the Service was created with all three nodes');

  // h-2's kube-proxy answers 500: unhealthy after failureThreshold probes, not before.
  const h2 = health.get(addresses['h-2']);
  const since = Date.now() - 1000; // Event timestamps have second precision
  h2.code = 500;
  await eventually('h-2 to be reported unhealthy', async () => {
    const value = (await nodeHealthSeries(controller))['h-2'];
    if (value === 0) {
      assert.ok(h2.failures >= failureThreshold, `reported after ${h2.failures} failed probe(s)`);
      return true;
    }
    return undefined;
  });
  const failed = await waitForNodeEvent('h-2', 'NodeHealthCheckFailed', since);
  assert.equal(failed.type, 'Warning');
  assert.equal(failed.involvedObject.kind, 'Node');
  assert.equal(failed.involvedObject.uid, (await core.readNode({ name: 'h-2' })).metadata?.uid);
  assert.match(failed.message ?? '', /HTTP 500 from 127\.42\.3\.2:\d+\/healthz/);

  // h-3's kube-proxy is gone altogether.
  await health.stop(addresses['h-3']);
  await waitForNodeHealth(controller, 'h-3', 0);
  assert.match((await waitForNodeEvent('h-3', 'NodeHealthCheckFailed', since)).message ?? '', /ECONNREFUSED/);
  assert.equal((await nodeHealthSeries(controller))['h-1'], 1, 'a healthy node stays healthy');

  // Health alone never touches the backends (KEP-3458: keep pools stable on flaps): with both flips reported,
  // whatever they could have set off has run by the time the controller settles...
  await waitForSettled(controller, core, ns);
  assert.equal(await hostsUpdated(controller), hosts0, 'no hosts update because of health');
  assert.deepEqual(await hostUpdateEvents(ns, 'web'), []);
  // ...and the next real node change still counts the unhealthy nodes as backends: 3 + h-4.
  await createNodes(defer, core, { 'h-4': { address: addresses['h-4'] } });
  await waitForHostsEvent(ns, 'web', 4);

  // Both come back: healthy on the first good answer, with a Normal Event.
  h2.code = 200;
  await health.add(addresses['h-3']);
  await waitForNodeHealth(controller, 'h-2', 1);
  await waitForNodeHealth(controller, 'h-3', 1);
  for (const node of ['h-2', 'h-3']) {
    const passed = await waitForNodeEvent(node, 'NodeHealthCheckPassed', since);
    assert.equal(passed.type, 'Normal');
    assert.match(passed.message ?? '', /HTTP 200/);
  }
  await waitForSettled(controller, core, ns);
  assert.equal(await hostsUpdated(controller), hosts0 + 1, 'only the node addition updated hosts');
  assert.deepEqual(
    (await hostUpdateEvents(ns, 'web')).map((e) => `${e.message} x${e.count}`),
    ['Updated load balancer with 4 node(s) x1'],
  );
  const flips = (await eventsFor(core, 'default', 'h-1')).filter((e) => e.reason?.startsWith('NodeHealthCheck'));
  assert.deepEqual(flips, [], 'h-1 never flipped');
});

test('externalTrafficPolicy: Local Services get their healthCheckNodePort probed on every node', async (t) => {
  const defer = deferrer(t);
  const { core } = cluster;
  const ns = 'local-traffic';
  const address = '127.42.4.1';
  const health = await HealthServers.start([address]);
  defer(() => health.close());
  await createNodes(defer, core, { 'l-1': { address } });
  const { controller, cls } = await controllerFor(defer, 'local', {
    health: { port: health.port, path: '/healthz', intervalSeconds: 0.2, timeoutSeconds: 1, failureThreshold: 3 },
  });
  await createNamespace(core, ns);
  const created = await createService(
    core,
    ns,
    lbService('local', { loadBalancerClass: cls, externalTrafficPolicy: 'Local' }),
  );
  defer(async () => {
    await core.deleteNamespacedService({ name: 'local', namespace: ns });
    await eventually('the Service to be deleted', async () =>
      (await readService(core, ns, 'local')) ? undefined : true,
    );
  });
  const hcnp = created.spec?.healthCheckNodePort ?? 0;
  assert.ok(hcnp >= 30000 && hcnp <= 32767, `the apiserver allocated a healthCheckNodePort (${hcnp})`);
  // kube-proxy serves the Service's health check on that port of every node.
  const serviceHealth = await health.add(address, hcnp);
  await waitForIngress(core, ns, 'local');

  await eventually(`GET /healthz on ${address}:${hcnp}`, () =>
    serviceHealth.requests.includes('GET /healthz') ? true : undefined,
  );
  const proxyHealth = health.get(address);
  const proxyProbes = proxyHealth.requests.length;
  await eventually('kube-proxy healthz probed alongside', () =>
    proxyHealth.requests.length > proxyProbes ? true : undefined,
  );
  assert.equal((await nodeHealthSeries(controller))['l-1'], 1);

  // Back to Cluster: the apiserver releases the port and the prober stops probing it.
  await core.patchNamespacedService(
    { name: 'local', namespace: ns, body: { spec: { externalTrafficPolicy: 'Cluster', healthCheckNodePort: null } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  await eventually('the controller to see the Cluster policy', () =>
    controller.caches.services.get('local', ns)?.spec?.externalTrafficPolicy === 'Cluster' ? true : undefined,
  );
  await probeRounds(proxyHealth, 0); // a round already under way may still probe it: let it finish
  const probes = serviceHealth.requests.length;
  await probeRounds(proxyHealth, 2); // rounds that would have probed it again
  assert.equal(serviceHealth.requests.length, probes, 'the released healthCheckNodePort is no longer probed');
  assert.ok(proxyHealth.requests.length > proxyProbes + 2, 'kube-proxy healthz is still probed');
});
