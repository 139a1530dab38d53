// The resilient informer (src/lib/kube/informer.ts) against a real apiserver, reached through a TCP proxy on loopback
// that the test can cut: a plain LIST+WATCH stops for good on such errors, so these tests prove that ours comes
// back, resumes, and sees what changed while it was cut off.
import assert from 'node:assert/strict';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { kubeClientOf } from '../../src/lib/kube/api/source.ts';
import {
  type ResilientInformer,
  type ResilientInformerOptions,
  resilientInformer,
} from '../../src/lib/kube/informer.ts';
import { eventually, type TestCluster, useControlPlane } from '../env/harness.ts';

const cluster = useControlPlane({
  setup: async (c) => {
    for (const name of ['outage', 'quiet', 'late-start'])
      await c.core.createNamespace({ body: { metadata: { name } } });
  },
});

/** A TCP proxy on 127.0.0.1 in front of the apiserver whose connections the test can cut. */
class CuttableProxy {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #refusing = false;
  /** Connections accepted and reset while refusing. */
  refused = 0;

  private constructor(targetPort: number) {
    this.#server = createServer((client) => {
      if (this.#refusing) {
        this.refused++;
        client.resetAndDestroy();
        return;
      }
      const upstream = createConnection(targetPort, '127.0.0.1');
      for (const s of [client, upstream]) {
        this.#sockets.add(s);
        s.on('close', () => this.#sockets.delete(s));
        s.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
  }

  static async start(targetPort: number, refusing = false): Promise<CuttableProxy> {
    const proxy = new CuttableProxy(targetPort);
    proxy.#refusing = refusing;
    await new Promise<void>((resolve, reject) => {
      proxy.#server.once('error', reject);
      proxy.#server.listen(0, '127.0.0.1', () => resolve());
    });
    return proxy;
  }

  get port(): number {
    const address = this.#server.address();
    return typeof address === 'object' && address ? address.port : 0;
  }

  get open(): number {
    return this.#sockets.size;
  }

  /** Reset every proxied connection and refuse new ones until restore(). */
  cut(): void {
    this.#refusing = true;
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  restore(): void {
    this.#refusing = false;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** A copy of the cluster's kubeconfig whose server is the proxy. */
function proxiedKubeConfig(c: TestCluster, proxy: CuttableProxy): KubeConfig {
  const source = c.kubeConfig;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: source.clusters.map((cl) => ({ ...cl, server: `https://127.0.0.1:${proxy.port}` })),
    users: source.users,
    contexts: source.contexts,
    currentContext: source.currentContext,
  });
  return kc;
}

function apiserverPort(c: TestCluster): number {
  return Number(new URL(c.kubeConfig.getCurrentCluster()?.server ?? '').port);
}

interface Recorder {
  informer: ResilientInformer<V1ConfigMap>;
  seen: string[];
  errors: unknown[];
  /** The delay of every retry the informer scheduled, in order. */
  retryDelays: number[];
}

/** The backoff ceiling of configMapInformer's informers: any retry it schedules fires within this. */
const MAX_BACKOFF_MS = 1000;

function configMapInformer(
  kc: KubeConfig,
  namespace: string,
  extra: Partial<Pick<ResilientInformerOptions<V1ConfigMap>, 'quietRestartMs' | 'minBackoffMs' | 'maxBackoffMs'>> = {},
): Recorder {
  const errors: unknown[] = [];
  const retryDelays: number[] = [];
  const informer = resilientInformer<V1ConfigMap>({
    client: kubeClientOf(kc),
    path: `/api/v1/namespaces/${namespace}/configmaps`,
    minBackoffMs: 100,
    maxBackoffMs: MAX_BACKOFF_MS,
    onError: (error, retryInMs) => {
      errors.push(error);
      retryDelays.push(retryInMs);
    },
    ...extra,
  });
  const seen: string[] = [];
  informer.on('add', (cm) => seen.push(`add:${cm.metadata?.name}`));
  informer.on('update', (cm) => seen.push(`update:${cm.metadata?.name}:${cm.data?.v ?? ''}`));
  informer.on('delete', (cm) => seen.push(`delete:${cm.metadata?.name}`));
  return { informer, seen, errors, retryDelays };
}

const configMap = (name: string, v: string): V1ConfigMap => ({ metadata: { name }, data: { v } });

test('after every connection is cut and refused until it backs off to its ceiling, the informer resumes and sees what changed meanwhile', async () => {
  const { core } = cluster;
  const ns = 'outage';
  const proxy = await CuttableProxy.start(apiserverPort(cluster));
  const { informer, seen, errors, retryDelays } = configMapInformer(proxiedKubeConfig(cluster, proxy), ns);
  try {
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('kept', '1') });
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('doomed', '1') });
    await informer.start();
    assert.equal(informer.restarts, 0);
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('live', '1') });
    await eventually('the watch to deliver an add', () => (seen.includes('add:live') ? true : undefined));
    assert.ok(proxy.open > 0, 'the informer talks through the proxy');

    proxy.cut();
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('born-in-outage', '1') });
    await core.replaceNamespacedConfigMap({ name: 'kept', namespace: ns, body: configMap('kept', '2') });
    await core.deleteNamespacedConfigMap({ name: 'doomed', namespace: ns });
    // A long outage: the informer keeps failing until its backoff reaches the ceiling, and at least one of its
    // retries came after those changes (only a connection made after them could have brought them in).
    const refusedBeforeRetry = proxy.refused;
    await eventually('the informer to back off to its ceiling during the outage', () =>
      retryDelays.includes(MAX_BACKOFF_MS) && proxy.refused > refusedBeforeRetry ? true : undefined,
    );
    assert.ok(errors.length > 0, 'the watch failed while the proxy was cut');
    assert.ok(proxy.refused > 0, 'the informer kept retrying during the outage');
    assert.equal(informer.get('born-in-outage', ns), undefined, 'nothing leaked past the cut proxy');
    proxy.restore();

    await eventually('the changes made during the outage', () =>
      informer.get('born-in-outage', ns) &&
      informer.get('kept', ns)?.data?.v === '2' &&
      informer.get('doomed', ns) === undefined
        ? true
        : undefined,
    );
    for (const event of ['add:born-in-outage', 'update:kept:2', 'delete:doomed']) {
      assert.ok(seen.includes(event), `handlers saw ${event}: ${seen}`);
    }
    assert.ok(informer.restarts >= 1, `restarts grew (${informer.restarts})`);

    // Back to normal: live changes flow again, and the informer settles instead of restarting in a loop.
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('after', '1') });
    await eventually('an add after the outage', () => (seen.includes('add:after') ? true : undefined));
    const restartsAfter = informer.restarts;
    const errorsAfter = errors.length;
    // What could still restart it is a timer (a retry left over from the outage, or a restart scheduling another),
    // and any of them fires within one maximum backoff. Keep changes flowing until one made after that is seen.
    const recoveredAt = Date.now();
    for (let tick = 0; ; tick++) {
      const madeAt = Date.now();
      await core.createNamespacedConfigMap({ namespace: ns, body: configMap(`tick-${tick}`, '1') });
      await eventually(`tick-${tick} to be delivered`, () => (seen.includes(`add:tick-${tick}`) ? true : undefined));
      if (madeAt - recoveredAt > MAX_BACKOFF_MS) break;
    }
    assert.equal(informer.restarts, restartsAfter, 'no further restarts once the connection is healthy');
    assert.equal(errors.length, errorsAfter, 'no further errors once the connection is healthy');
    assert.equal(seen.filter((e) => e === 'add:born-in-outage').length, 1, 'each change is delivered once');
  } finally {
    await informer.stop();
    await proxy.close();
  }
});

test('a watch that stays quiet past quietRestartMs is restarted and still delivers later changes', async () => {
  const { core } = cluster;
  const ns = 'quiet';
  const proxy = await CuttableProxy.start(apiserverPort(cluster));
  const quietRestartMs = 500;
  // A short backoff, so that if restarting counted as a failure, the extra restarts would pile up quickly.
  const { informer, seen, errors } = configMapInformer(proxiedKubeConfig(cluster, proxy), ns, {
    quietRestartMs,
    minBackoffMs: 50,
    maxBackoffMs: 50,
  });
  try {
    // Taken before start(), which arms the first quiet period: no restart can come sooner than elapsed allows.
    const started = Date.now();
    await informer.start();
    const restarts = await eventually('several quiet restarts', () =>
      informer.restarts >= 4 ? informer.restarts : undefined,
    );
    const elapsed = Date.now() - started;
    // One restart per quiet period, not a storm: restarting a live watch must not count as a failure that
    // schedules yet another restart.
    assert.ok(restarts >= 2, `the quiet watch was restarted (${restarts} times)`);
    assert.ok(
      restarts <= Math.floor(elapsed / quietRestartMs),
      `${restarts} restarts in ${elapsed} ms, at most one per ${quietRestartMs} ms`,
    );
    assert.equal(seen.join(), '', 'a restart alone replays nothing');

    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('after-quiet', '1') });
    await eventually('the change made after quiet restarts', () =>
      seen.includes('add:after-quiet') ? true : undefined,
    );
    assert.deepEqual(seen, ['add:after-quiet']);
    assert.deepEqual(errors, [], 'quiet restarts are not errors');
  } finally {
    await informer.stop();
    await proxy.close();
  }
});

test('start() resolves only after the first successful LIST, retrying while the apiserver is unreachable', async () => {
  const { core } = cluster;
  const ns = 'late-start';
  await core.createNamespacedConfigMap({ namespace: ns, body: configMap('existing', '1') });
  const proxy = await CuttableProxy.start(apiserverPort(cluster), true);
  const { informer, errors } = configMapInformer(proxiedKubeConfig(cluster, proxy), ns);
  try {
    let resolved = false;
    const ready = informer.start().then(() => {
      resolved = true;
    });
    // Two refused LISTs: start() has had two chances to resolve, and must not have.
    await eventually('LIST to fail twice', () => (errors.length >= 2 && proxy.refused >= 2 ? true : undefined));
    assert.equal(resolved, false, 'start() waits while every LIST fails');
    assert.equal(informer.synced, false);
    assert.ok(errors.length >= 2, `LIST was retried (${errors.length} failures)`);
    assert.ok(proxy.refused >= 2, `connections were attempted (${proxy.refused})`);

    proxy.restore();
    await eventually('start() to resolve after the apiserver came back', () => (resolved ? true : undefined), 10_000);
    await ready;
    assert.equal(informer.synced, true);
    assert.deepEqual(
      informer.list(ns).map((cm) => cm.metadata?.name),
      ['existing'],
      'the cache holds the LIST once start() resolves',
    );
  } finally {
    await informer.stop();
    await proxy.close();
  }
});
