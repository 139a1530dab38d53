// The update filter's field list: which Service changes are news for reconcile (see changes.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { LOAD_BALANCER_CLEANUP_FINALIZER, OWNER_CLASS_ANNOTATION } from '../../lib/service/annotations.ts';
import { factsOf, marksOf, newsIn, ServiceUpdateFilter } from './changes.ts';
import { ingressKey } from './status.ts';

const CLASS = 'drawbridge.io/fake';

function served(): V1Service {
  return {
    metadata: {
      namespace: 'shop',
      name: 'web',
      uid: 'u1',
      resourceVersion: '7',
      finalizers: [LOAD_BALANCER_CLEANUP_FINALIZER],
      annotations: { [OWNER_CLASS_ANNOTATION]: CLASS, team: 'a' },
      labels: { app: 'web' },
    },
    spec: { type: 'LoadBalancer', loadBalancerClass: CLASS, ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] },
    status: { loadBalancer: { ingress: [{ ip: '198.18.0.1', ipMode: 'VIP' }] } },
  };
}

const ours = {
  marks: marksOf(true, { [OWNER_CLASS_ANNOTATION]: CLASS }),
  ingress: ingressKey([{ ip: '198.18.0.1', ipMode: 'VIP' }]),
};

function newsAfter(edit: (s: V1Service) => void, own = ours): string | undefined {
  const before = served();
  const after = structuredClone(before);
  edit(after);
  return newsIn(factsOf(before), factsOf(after), own);
}

test('every spec field, uid, deletionTimestamp and user annotations are news', () => {
  assert.equal(
    newsAfter((s) => {
      s.spec!.ports![0]!.port = 81;
    }),
    'input',
  );
  assert.equal(
    newsAfter((s) => {
      s.spec!.externalTrafficPolicy = 'Local';
    }),
    'input',
  );
  assert.equal(
    newsAfter((s) => {
      s.spec!.loadBalancerSourceRanges = ['10.0.0.0/8'];
    }),
    'input',
  );
  assert.equal(
    newsAfter((s) => {
      s.spec!.type = 'ClusterIP';
    }),
    'input',
  );
  assert.equal(
    newsAfter((s) => {
      s.metadata!.uid = 'u2';
    }),
    'input',
  );
  assert.equal(
    newsAfter((s) => {
      s.metadata!.deletionTimestamp = new Date();
    }),
    'input',
  );
  assert.equal(
    newsAfter((s) => {
      s.metadata!.annotations!['drawbridge.io/release-load-balancer'] = 'true';
    }),
    'input',
  );
  assert.equal(
    newsAfter((s) => {
      delete s.metadata!.annotations!.team;
    }),
    'input',
  );
});

test('labels, other finalizers, the speaker annotation, other status and resourceVersion are not news', () => {
  assert.equal(
    newsAfter((s) => {
      s.metadata!.labels = { app: 'web', tier: 'front' };
      s.metadata!.finalizers = ['example.com/other', LOAD_BALANCER_CLEANUP_FINALIZER];
      s.metadata!.annotations!['drawbridge.io/announcing-node'] = 'node-a';
      s.metadata!.resourceVersion = '8';
      s.status!.conditions = [{ type: 'X', status: 'True', reason: 'R', message: '', lastTransitionTime: new Date(0) }];
    }),
    undefined,
  );
});

test('finalizer and owner annotation: news unless they are what we last wrote', () => {
  const unmarked = served();
  unmarked.metadata!.finalizers = [];
  delete unmarked.metadata!.annotations![OWNER_CLASS_ANNOTATION];
  // Our own finalizer write coming back.
  assert.equal(newsIn(factsOf(unmarked), factsOf(served()), ours), undefined);
  // Someone removing our finalizer, or changing the owner.
  assert.equal(newsIn(factsOf(served()), factsOf(unmarked), ours), 'marks');
  assert.equal(
    newsAfter((s) => {
      s.metadata!.annotations![OWNER_CLASS_ANNOTATION] = 'drawbridge.io/metal';
    }),
    'marks',
  );
  // No record of our writes (e.g. just restarted): every change is news.
  assert.equal(newsIn(factsOf(unmarked), factsOf(served()), {}), 'marks');
});

test('status.loadBalancer: news unless it is what we last converged', () => {
  assert.equal(
    newsAfter((s) => {
      s.status = {};
    }),
    'ingress',
  );
  assert.equal(
    newsAfter((s) => {
      s.status!.loadBalancer!.ingress = [{ ip: '203.0.113.9' }];
    }),
    'ingress',
  );
  const empty = served();
  empty.status = {};
  assert.equal(newsIn(factsOf(empty), factsOf(served()), ours), undefined, 'our status write coming back');
  assert.equal(newsIn(factsOf(empty), factsOf(served()), undefined), 'ingress');
});

test('the filter: first sight is news, an unchanged update is not, forget() starts over', () => {
  const filter = new ServiceUpdateFilter(() => ours);
  assert.equal(filter.observe('shop/web', served()), 'unseen');
  assert.equal(filter.observe('shop/web', served()), undefined);
  assert.equal(filter.size, 1);
  filter.forget('shop/web');
  assert.equal(filter.size, 0);
  assert.equal(filter.observe('shop/web', served()), 'unseen');
});
