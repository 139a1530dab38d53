// Over 300 lines: the cases of every reconcile path (serve.ts, cleanup.ts, retain.ts) share the in-memory world below.
// Reconciler unit tests: the fake provider, an in-memory cluster and writer, no apiserver. Each case asserts the
// resulting state of the world (the Service as written, the fake's load balancers, Events) and the queue Outcome.
import assert from 'node:assert/strict';
import { describe, mock, test } from 'node:test';
import type { V1EndpointSlice, V1LoadBalancerIngress, V1Node, V1Service } from '@kubernetes/client-node';
import { fake } from '../../../providers/fake/index.ts';
import type { FakeProvider } from '../../../providers/fake/provider.ts';
import { testContext } from '../../../test/conformance/context.ts';
import { createLogger } from '../../lib/observe/logging.ts';
import {
  LOAD_BALANCER_CLEANUP_FINALIZER,
  OWNER_CLASS_ANNOTATION,
  RELEASE_ANNOTATION,
} from '../../lib/service/annotations.ts';
import { createMetrics } from '../metrics/controller-metrics.ts';
import { ServiceUpdateFilter } from './changes.ts';
import { TERMINAL_RECHECK_SECONDS } from './outcome.ts';
import { WorkQueue } from './queue.ts';
import { Reconciler } from './reconcile.ts';
import { ENSURING_EVENT_AFTER_MS } from './serve.ts';

const CLASS = 'drawbridge.io/fake';

function node(name: string): V1Node {
  return { metadata: { name }, status: { addresses: [{ type: 'InternalIP', address: `10.0.0.${name.length}` }] } };
}

function lbService(name: string, edit: (s: V1Service) => void = () => {}): V1Service {
  const svc: V1Service = {
    metadata: { namespace: 'shop', name, uid: `uid-${name}`, resourceVersion: '1', annotations: {} },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      ipFamilies: ['IPv4'],
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
    },
  };
  edit(svc);
  return svc;
}

/** An in-memory cluster: the reconciler reads it through ClusterView and writes it through ServiceWriter. */
async function world(
  options: {
    ownClassless?: boolean;
    fakeConfig?: Record<string, unknown>;
    /** Sees every object written, before the write returns (a watch event can beat the write's response). */
    echo?: (svc: V1Service) => void;
    /** Runs as a status write reaches the "apiserver", before it is applied; may throw what the apiserver answers. */
    onStatusWrite?: (svc: V1Service) => void;
  } = {},
) {
  const services = new Map<string, V1Service>();
  const nodes: V1Node[] = [node('node-a'), node('node-b')];
  const slices: V1EndpointSlice[] = [];
  const writes: string[] = [];
  const key = (s: V1Service) => `${s.metadata?.namespace}/${s.metadata?.name}`;
  // Every write gives the stored object a new resourceVersion, as the apiserver does.
  let version = 100;
  const t = testContext('fake');
  const provider = (await fake.create(t.context, fake.configSchema.parse(options.fakeConfig ?? {}))) as FakeProvider;
  const metrics = createMetrics();
  const events: { reason: string; type: string; message: string }[] = [];
  const forgotten: string[] = [];
  const reconciler = new Reconciler({
    config: {
      provider: 'fake',
      clusterName: 'unit',
      loadBalancerClass: CLASS,
      ownClassless: options.ownClassless ?? false,
    },
    provider,
    metrics,
    log: createLogger({ level: 'silent' }),
    events: {
      record: (_target, type, reason, message) => void events.push({ type, reason, message }),
      forget: (target) => void forgotten.push(target.name),
    },
    view: {
      service: (namespace, name) => services.get(`${namespace}/${name}`),
      nodes: () => nodes,
      endpointSlices: () => slices,
    },
    writer: {
      setFinalizers: async (svc, finalizers, annotations) => {
        writes.push('finalizer');
        // A metadata patch, as the apiserver applies it: to the stored object (status untouched).
        const next = structuredClone(services.get(key(svc)) ?? svc);
        next.metadata!.finalizers = finalizers;
        const merged = { ...next.metadata!.annotations };
        for (const [k, v] of Object.entries(annotations)) {
          if (v === null) delete merged[k];
          else merged[k] = v;
        }
        next.metadata!.annotations = merged;
        next.metadata!.resourceVersion = String(++version);
        services.set(key(next), next);
        options.echo?.(next);
        return next;
      },
      setIngress: async (svc, ingress: V1LoadBalancerIngress[]) => {
        writes.push('status');
        options.onStatusWrite?.(svc);
        const next = structuredClone(services.get(key(svc)) ?? svc);
        next.status = { loadBalancer: { ingress } };
        next.metadata!.resourceVersion = String(++version);
        services.set(key(next), next);
        options.echo?.(next);
      },
    },
  });
  const put = (svc: V1Service) => services.set(key(svc), svc);
  const get = (name: string) => services.get(`shop/${name}`);
  const reasons = () => events.map((e) => e.reason);
  return { services, nodes, slices, writes, provider, reconciler, events, forgotten, reasons, put, get, metrics };
}

const ips = (svc: V1Service | undefined) => (svc?.status?.loadBalancer?.ingress ?? []).map((i) => i.ip);

describe('Reconciler', () => {
  test('create: finalizer and owner first, then the load balancer, then status; Events tell the story', async () => {
    const w = await world();
    w.put(lbService('web'));
    assert.deepEqual(await w.reconciler.reconcile('shop/web'), { kind: 'done' });
    const svc = w.get('web')!;
    assert.deepEqual(svc.metadata?.finalizers, [LOAD_BALANCER_CLEANUP_FINALIZER]);
    assert.equal(svc.metadata?.annotations?.[OWNER_CLASS_ANNOTATION], CLASS);
    assert.deepEqual(ips(svc), ['198.18.0.1']);
    assert.deepEqual(w.writes, ['finalizer', 'status']);
    assert.deepEqual(w.reasons(), ['EnsuredLoadBalancer'], 'served at once: no "Ensuring" Event to pay for');
    assert.deepEqual(w.provider.loadBalancers()[0]?.backends, ['node-a', 'node-b']);
  });

  test('a slow first ensure says EnsuringLoadBalancer while it runs, then EnsuredLoadBalancer', async () => {
    const w = await world({ fakeConfig: { latencyMs: ENSURING_EVENT_AFTER_MS + 300 } });
    w.put(lbService('web'));
    const done = w.reconciler.reconcile('shop/web');
    await new Promise((r) => setTimeout(r, ENSURING_EVENT_AFTER_MS + 100));
    assert.deepEqual(w.reasons(), ['EnsuringLoadBalancer'], 'recorded while the provider is still at work');
    assert.deepEqual(await done, { kind: 'done' });
    assert.deepEqual(w.reasons(), ['EnsuringLoadBalancer', 'EnsuredLoadBalancer']);
  });

  test('resync of an unchanged Service makes zero writes, zero provider changes and no Event', async () => {
    const w = await world();
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    const before = { writes: w.writes.length, events: w.events.length };
    await w.reconciler.reconcile('shop/web');
    await w.reconciler.reconcile('shop/web');
    assert.equal(w.writes.length, before.writes);
    assert.equal(w.events.length, before.events);
    assert.deepEqual(
      w.provider.calls.map((c) => [c.operation, c.changed]),
      [
        ['ensure', true],
        ['ensure', false],
        ['ensure', false],
      ],
    );
  });

  test('a node-set change calls only updateHosts, and an Event only when backends changed', async () => {
    const w = await world();
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    w.nodes.push(node('node-cc'));
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(
      w.provider.calls.map((c) => c.operation),
      ['ensure', 'updateHosts'],
    );
    assert.deepEqual(w.provider.loadBalancers()[0]?.backends, ['node-a', 'node-b', 'node-cc']);
    assert.equal(w.reasons().at(-1), 'UpdatedLoadBalancer');
    assert.deepEqual(w.writes, ['finalizer', 'status'], 'no Service write for a host change');
  });

  test('a load balancer deleted behind our back is rebuilt on the next node change, and its address published', async () => {
    const w = await world();
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    // Someone deletes it in the cloud console: the provider has nothing, the Service still shows the old address.
    await w.provider.ensureDeleted(
      { clusterName: 'unit', namespace: 'shop', name: 'web', uid: 'uid-web' },
      { signal: new AbortController().signal },
    );
    assert.equal(w.provider.loadBalancers().length, 0);
    const calls = w.provider.calls.length;
    w.nodes.push(node('node-cc'));
    assert.deepEqual(await w.reconciler.reconcile('shop/web'), { kind: 'done' });
    assert.deepEqual(
      w.provider.calls.slice(calls).map((c) => [c.operation, c.result]),
      [
        ['updateHosts', 'LoadBalancerNotFound'],
        ['ensure', 'ok'],
      ],
    );
    const [lb] = w.provider.loadBalancers();
    assert.deepEqual(lb?.backends, ['node-a', 'node-b', 'node-cc'], 'rebuilt with the new node set');
    assert.deepEqual(ips(w.get('web')), lb?.addresses, 'the rebuilt address is the published one');
    assert.equal(w.reasons().at(-1), 'EnsuredLoadBalancer');
    // And the next node change is a plain update again.
    w.nodes.pop();
    await w.reconciler.reconcile('shop/web');
    assert.equal(w.provider.calls.at(-1)?.operation, 'updateHosts');
    assert.deepEqual(w.provider.loadBalancers()[0]?.backends, ['node-a', 'node-b']);
  });

  test('Local policy: an endpoint move is a hosts-only change', async () => {
    const w = await world();
    w.put(
      lbService('web', (s) => {
        s.spec!.externalTrafficPolicy = 'Local';
        s.spec!.healthCheckNodePort = 32000;
      }),
    );
    w.slices.push({ endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'node-a' }] } as V1EndpointSlice);
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(w.provider.loadBalancers()[0]?.backends, ['node-a']);
    w.slices[0] = { endpoints: [{ addresses: ['10.1.0.1'], nodeName: 'node-b' }] } as V1EndpointSlice;
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(w.provider.loadBalancers()[0]?.backends, ['node-b']);
    assert.equal(w.provider.calls.at(-1)?.operation, 'updateHosts');
  });

  test('invalid input: Warning Events naming each problem, no provider call, no write', async () => {
    const w = await world();
    w.put(
      lbService('bad', (s) => {
        s.spec!.ports = [{ name: 'http', protocol: 'TCP', port: 0, nodePort: 30080 }];
        s.spec!.loadBalancerIP = 'fd00::5';
      }),
    );
    assert.deepEqual(await w.reconciler.reconcile('shop/bad'), { kind: 'done' });
    assert.deepEqual(w.provider.calls, []);
    assert.deepEqual(w.writes, []);
    assert.ok(w.events.every((e) => e.type === 'Warning'));
    assert.ok(w.reasons().includes('InvalidPort'));
  });

  for (const [kind, expected] of [
    ['retryable', { kind: 'retry' }],
    ['throttled', { kind: 'throttled' }],
    ['retryAfter', { kind: 'retryAfter', seconds: 7 }],
    ['terminal', { kind: 'retryAfter', seconds: TERMINAL_RECHECK_SECONDS }],
  ] as const) {
    test(`a ${kind} provider failure: ${JSON.stringify(expected)}, a Warning Event, no status`, async () => {
      const w = await world({ fakeConfig: { faults: [{ operation: 'ensure', kind, retryAfterSeconds: 7 }] } });
      w.put(lbService('web'));
      assert.deepEqual(await w.reconciler.reconcile('shop/web'), expected);
      assert.deepEqual(ips(w.get('web')), []);
      assert.deepEqual(w.writes, ['finalizer'], 'the finalizer went on before the provider call');
      const warning = w.events.find((e) => e.type === 'Warning');
      assert.equal(warning?.reason, kind === 'terminal' ? 'FakeRejected' : 'SyncLoadBalancerFailed');
    });
  }

  test('the queue honours the delay a failure asks for (fake clock)', async () => {
    mock.timers.enable({ apis: ['setTimeout', 'Date'] });
    try {
      const w = await world({
        fakeConfig: { faults: [{ operation: 'ensure', kind: 'retryAfter', times: 1, retryAfterSeconds: 30 }] },
      });
      w.put(lbService('web'));
      const queue = new WorkQueue<string>({ worker: (k, ctx) => w.reconciler.reconcile(k, ctx), jitter: 0 });
      queue.add('shop/web', 'high');
      queue.start();
      const settle = async () => {
        for (let i = 0; i < 20; i++) await new Promise<void>((r) => setImmediate(r));
      };
      await settle();
      assert.equal(w.provider.count('ensure'), 1);
      mock.timers.tick(29_000);
      await settle();
      assert.equal(w.provider.count('ensure'), 1, 'not before 30 s');
      mock.timers.tick(1_000);
      await settle();
      assert.equal(w.provider.count('ensure'), 2, 'again at 30 s');
      assert.deepEqual(ips(w.get('web')), ['198.18.0.1']);
      await queue.shutdown();
    } finally {
      mock.timers.reset();
    }
  });

  test('abort by key leaves a teardown in flight to finish: deletion is what it serves', async () => {
    const w = await world({ fakeConfig: { latencyMs: 100 } });
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    const svc = structuredClone(w.get('web')!);
    svc.metadata!.deletionTimestamp = new Date();
    w.put(svc);
    const teardown = w.reconciler.reconcile('shop/web');
    await new Promise((r) => setTimeout(r, 30)); // inside ensureDeleted
    w.reconciler.abort('shop/web', 'Service was deleted');
    await teardown;
    assert.deepEqual(w.provider.loadBalancers(), []);
    assert.deepEqual(w.get('web')?.metadata?.finalizers, []);
    assert.equal(w.reasons().at(-1), 'DeletedLoadBalancer');
  });

  test('delete with finalizer: load balancer removed, then the finalizer, with Events', async () => {
    const w = await world();
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    const svc = structuredClone(w.get('web')!);
    svc.metadata!.deletionTimestamp = new Date();
    w.put(svc);
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(w.provider.loadBalancers(), []);
    assert.deepEqual(w.get('web')?.metadata?.finalizers, []);
    assert.equal(w.get('web')?.metadata?.annotations?.[OWNER_CLASS_ANNOTATION], undefined);
    assert.deepEqual(w.reasons().slice(-2), ['DeletingLoadBalancer', 'DeletedLoadBalancer']);
    assert.deepEqual(w.forgotten, ['web'], 'the recorder lets go of a Service that is going away');
  });

  test('a failed delete keeps the finalizer and retries', async () => {
    const w = await world();
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    w.provider.inject({ operation: 'ensureDeleted', kind: 'retryable' });
    const svc = structuredClone(w.get('web')!);
    svc.metadata!.deletionTimestamp = new Date();
    w.put(svc);
    assert.deepEqual(await w.reconciler.reconcile('shop/web'), { kind: 'retry' });
    assert.deepEqual(w.get('web')?.metadata?.finalizers, [LOAD_BALANCER_CLEANUP_FINALIZER]);
    assert.equal(w.provider.loadBalancers().length, 1);
    assert.equal(w.reasons().at(-1), 'DeleteLoadBalancerFailed');
  });

  for (const [what, edit] of [
    ['type changed away', (s: V1Service) => (s.spec!.type = 'ClusterIP')],
    ['class changed away', (s: V1Service) => (s.spec!.loadBalancerClass = 'example.com/other')],
  ] as const) {
    test(`${what}: load balancer and status removed, finalizer off`, async () => {
      const w = await world();
      w.put(lbService('web'));
      await w.reconciler.reconcile('shop/web');
      const svc = structuredClone(w.get('web')!);
      edit(svc);
      w.put(svc);
      await w.reconciler.reconcile('shop/web');
      assert.deepEqual(w.provider.loadBalancers(), []);
      assert.deepEqual(ips(w.get('web')), []);
      assert.deepEqual(w.get('web')?.metadata?.finalizers, []);
    });
  }

  test('class-less Service provisioned with --own-classless is retained, not released, without it', async () => {
    const first = await world({ ownClassless: true });
    first.put(lbService('legacy', (s) => delete s.spec!.loadBalancerClass));
    await first.reconciler.reconcile('shop/legacy');
    const provisioned = first.get('legacy')!;
    assert.deepEqual(ips(provisioned), ['198.18.0.1']);

    const restarted = await world({ ownClassless: false });
    restarted.put(structuredClone(provisioned));
    assert.equal(restarted.reconciler.decide(provisioned), 'retain');
    await restarted.reconciler.reconcile('shop/legacy');
    await restarted.reconciler.reconcile('shop/legacy');
    assert.deepEqual(restarted.writes, [], 'nothing written: status and finalizer stay');
    assert.deepEqual(restarted.provider.calls, [], 'no provider call');
    assert.deepEqual(restarted.reasons(), ['LoadBalancerRetained'], 'one Warning, not one per resync');
    assert.equal((await restarted.metrics.retainedServices.get()).values[0]?.value, 1);

    const released = structuredClone(provisioned);
    released.metadata!.annotations![RELEASE_ANNOTATION] = 'true';
    restarted.put(released);
    await restarted.reconciler.reconcile('shop/legacy');
    assert.deepEqual(restarted.get('legacy')?.metadata?.finalizers, []);
    assert.deepEqual(ips(restarted.get('legacy')), []);
    assert.equal((await restarted.metrics.retainedServices.get()).values[0]?.value, 0);
  });

  test('abort (leadership lost) mid-ensure: no status written, result aborted, nothing half-done', async () => {
    const w = await world({ fakeConfig: { faults: [{ operation: 'ensure', kind: 'hang' }] } });
    w.put(lbService('web'));
    const leadership = new AbortController();
    const running = w.reconciler.reconcile('shop/web', { signal: leadership.signal });
    await new Promise((r) => setTimeout(r, 10));
    leadership.abort(new Error('lost the lease'));
    assert.deepEqual(await running, { kind: 'done' });
    assert.deepEqual(ips(w.get('web')), []);
    assert.deepEqual(w.writes, ['finalizer']);
    assert.equal(w.provider.calls.at(-1)?.result, 'aborted');
    assert.ok(!w.events.some((e) => e.type === 'Warning'), 'an abort is not a failure of the Service');
  });

  test('abort by key (Service deleted mid-flight) stops that reconcile only', async () => {
    const w = await world({ fakeConfig: { latencyMs: 300 } });
    w.put(lbService('a'));
    w.put(lbService('b'));
    const a = w.reconciler.reconcile('shop/a');
    const b = w.reconciler.reconcile('shop/b');
    await new Promise((r) => setTimeout(r, 60)); // both past their finalizer write, inside ensure
    w.reconciler.abort('shop/a', 'Service is being deleted');
    await Promise.all([a, b]);
    assert.deepEqual(ips(w.get('a')), []);
    assert.equal(ips(w.get('b')).length, 1);
  });

  test('a Service that vanishes with our finalizer while its status is written is forgotten by the provider', async () => {
    // The apiserver can delete a Service that carries our finalizer when the user's delete races the finalizer
    // write (seen in the etcd-down chaos scenario): the DELETED event aborts the reconcile after the provider
    // built the load balancer but before the status write returned.
    let reconciler: Reconciler | undefined;
    const w = await world({
      onStatusWrite: () => {
        w.services.delete('shop/web');
        reconciler?.abort('shop/web', 'Service was deleted');
        throw Object.assign(new Error('services "web" not found'), { code: 404 });
      },
    });
    reconciler = w.reconciler;
    w.put(lbService('web'));
    assert.deepEqual(await w.reconciler.reconcile('shop/web'), { kind: 'done' });
    assert.equal(w.provider.loadBalancers().length, 1, 'the provider built it before the Service vanished');
    await w.reconciler.reconcile('shop/web'); // what the DELETED event queues
    assert.deepEqual(w.provider.loadBalancers(), []);
  });

  test('a vanished Service (no finalizer) is forgotten by the provider', async () => {
    const w = await world();
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    w.services.delete('shop/web');
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(w.provider.loadBalancers(), []);
  });
});

describe('Reconciler and the update filter', () => {
  test("the echoes of a reconcile's own finalizer and status writes are not news, even before the write returns", async () => {
    let filter: ServiceUpdateFilter | undefined;
    const news: (string | undefined)[] = [];
    const w = await world({ echo: (svc) => news.push(filter?.observe('shop/web', svc)) });
    filter = new ServiceUpdateFilter((key) => w.reconciler.ownWrites(key));
    w.put(lbService('web'));
    assert.equal(filter.observe('shop/web', w.get('web')!), 'unseen');
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(w.writes, ['finalizer', 'status']);
    assert.deepEqual(news, [undefined, undefined], 'neither echo queues another reconcile');
    assert.equal(w.provider.count('ensure'), 1);
  });

  test('someone else clearing the status, removing the finalizer or editing the spec is news', async () => {
    const w = await world();
    const filter = new ServiceUpdateFilter((key) => w.reconciler.ownWrites(key));
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    filter.observe('shop/web', w.get('web')!);

    const cleared = structuredClone(w.get('web')!);
    cleared.status = { loadBalancer: {} };
    assert.equal(filter.observe('shop/web', cleared), 'ingress');
    w.put(cleared);
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(ips(w.get('web')), ['198.18.0.1'], 'the status is put back');
    assert.equal(filter.observe('shop/web', w.get('web')!), undefined, 'and that write is ours');

    const unfinalized = structuredClone(w.get('web')!);
    unfinalized.metadata!.finalizers = [];
    assert.equal(filter.observe('shop/web', unfinalized), 'marks');
    const edited = structuredClone(unfinalized);
    edited.spec!.ports![0]!.port = 8080;
    assert.equal(filter.observe('shop/web', edited), 'input');
  });

  test('a teardown that keeps the Service (type changed) recognises its own status and finalizer removals', async () => {
    const news: (string | undefined)[] = [];
    let filter: ServiceUpdateFilter | undefined;
    const w = await world({ echo: (svc) => news.push(filter?.observe('shop/web', svc)) });
    filter = new ServiceUpdateFilter((key) => w.reconciler.ownWrites(key));
    w.put(lbService('web'));
    await w.reconciler.reconcile('shop/web');
    const clusterIp = structuredClone(w.get('web')!);
    clusterIp.spec!.type = 'ClusterIP';
    w.put(clusterIp);
    news.length = 0;
    assert.equal(filter.observe('shop/web', clusterIp), 'input');
    await w.reconciler.reconcile('shop/web');
    assert.deepEqual(w.writes, ['finalizer', 'status', 'status', 'finalizer']);
    assert.deepEqual(news, [undefined, undefined]);
  });
});
