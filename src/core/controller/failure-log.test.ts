// A Service stuck in a failure that only a person can fix (invalid input, a terminal provider refusal) is logged
// at info/warn once per change of the Service or the failure, not at every resync: counted from the log itself.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { fake } from '../../../providers/fake/index.ts';
import { testContext } from '../../../test/conformance/context.ts';
import { createLogger } from '../../lib/observe/logging.ts';
import { createMetrics } from '../metrics/controller-metrics.ts';
import { failureChanged } from './failure-log.ts';
import { Reconciler } from './reconcile.ts';

const CLASS = 'drawbridge.io/fake';

async function world(fakeConfig: Record<string, unknown> = {}) {
  const services = new Map<string, V1Service>();
  const lines: { level: string; msg: string }[] = [];
  const provider = await fake.create(testContext('fake').context, fake.configSchema.parse(fakeConfig));
  const reconciler = new Reconciler({
    config: { provider: 'fake', clusterName: 'unit', loadBalancerClass: CLASS, ownClassless: false },
    provider,
    metrics: createMetrics(),
    log: createLogger({
      level: 'debug',
      destination: { write: (line: string) => void lines.push(JSON.parse(line)) },
    }),
    events: { record: () => {}, forget: () => {} },
    view: {
      service: (namespace, name) => services.get(`${namespace}/${name}`),
      nodes: () => [
        { metadata: { name: 'node-a' }, status: { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] } },
      ],
      endpointSlices: () => [],
    },
    writer: {
      setFinalizers: async (svc, finalizers) => {
        const next = structuredClone(svc);
        next.metadata!.finalizers = finalizers;
        services.set('shop/web', next);
        return next;
      },
      setIngress: async () => {},
    },
  });
  const put = (edit: (s: V1Service) => void = () => {}) => {
    const svc: V1Service = {
      metadata: { namespace: 'shop', name: 'web', uid: 'uid-web', generation: 1, annotations: {} },
      spec: {
        type: 'LoadBalancer',
        loadBalancerClass: CLASS,
        ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 30080 }],
      },
    };
    edit(svc);
    services.set('shop/web', svc);
  };
  /** Log lines at info or above with this message. */
  const said = (msg: string) => lines.filter((l) => l.msg === msg && l.level !== 'debug').length;
  const repeated = (msg: string) => lines.filter((l) => l.msg === msg && l.level === 'debug').length;
  return { reconciler, put, said, repeated };
}

test('an invalid Service is logged once over several resyncs, again when its annotations change', async () => {
  const w = await world();
  w.put((s) => {
    s.spec!.ports![0]!.port = 0;
  });
  for (let i = 0; i < 5; i++) await w.reconciler.reconcile('shop/web');
  assert.equal(w.said('invalid Service: no load balancer change'), 1);
  assert.equal(w.repeated('invalid Service: no load balancer change'), 4);
  w.put((s) => {
    s.spec!.ports![0]!.port = 0;
    s.metadata!.annotations = { touched: 'yes' };
  });
  for (let i = 0; i < 3; i++) await w.reconciler.reconcile('shop/web');
  assert.equal(w.said('invalid Service: no load balancer change'), 2);
});

test('a terminal provider refusal is warned once over several rechecks, again after the Service is edited', async () => {
  const w = await world({ faults: [{ operation: 'ensure', kind: 'terminal' }] });
  w.put();
  for (let i = 0; i < 4; i++) await w.reconciler.reconcile('shop/web');
  assert.equal(w.said('reconcile failed'), 1);
  assert.equal(w.repeated('reconcile failed'), 3);
  w.put((s) => {
    s.metadata!.generation = 2;
  });
  await w.reconciler.reconcile('shop/web');
  assert.equal(w.said('reconcile failed'), 2);
});

test('a transient failure is warned every time: it is not a state someone must fix', async () => {
  const w = await world({ faults: [{ operation: 'ensure', kind: 'retryable' }] });
  w.put();
  for (let i = 0; i < 3; i++) await w.reconciler.reconcile('shop/web');
  assert.equal(w.said('reconcile failed'), 3);
});

test('failureChanged: news the first time, after a change of generation, annotations or failure', () => {
  const said = new Map<string, string>();
  const svc: V1Service = { metadata: { generation: 1, annotations: { a: '1' } } };
  assert.equal(failureChanged(said, 'k', svc, 'x'), true);
  assert.equal(failureChanged(said, 'k', svc, 'x'), false);
  assert.equal(failureChanged(said, 'k', svc, 'y'), true);
  assert.equal(failureChanged(said, 'k', { metadata: { generation: 2, annotations: { a: '1' } } }, 'y'), true);
  assert.equal(failureChanged(said, 'k', { metadata: { generation: 2, annotations: { a: '2' } } }, 'y'), true);
  assert.equal(failureChanged(said, 'other', svc, 'x'), true);
});
