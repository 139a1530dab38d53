// The speaker's node exclusion is the controller's node eligibility, case by case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node, V1Service } from '@kubernetes/client-node';
import { announcedBy } from '../lib/service/ownership.ts';
import { excludedNodeNames } from './cache.ts';

const node = (name: string, extra: { labels?: Record<string, string>; taint?: string; noAddress?: boolean } = {}) =>
  ({
    metadata: { name, labels: extra.labels },
    spec: { taints: extra.taint ? [{ key: extra.taint, effect: 'NoSchedule' }] : undefined },
    status: { addresses: extra.noAddress ? [] : [{ type: 'InternalIP', address: '10.0.0.1' }] },
  }) as V1Node;

describe('speaker node exclusion', () => {
  it('excludes exactly the nodes the controller holds ineligible', () => {
    const label = 'node.kubernetes.io/exclude-from-external-load-balancers';
    const excluded = excludedNodeNames([
      node('plain'),
      node('labelled', { labels: { [label]: '' } }),
      node('labelled-true', { labels: { [label]: 'true' } }),
      // Go's ParseBool "false": the controller keeps such a node, so the speakers must too.
      node('labelled-false', { labels: { [label]: 'false' } }),
      node('autoscaled-away', { taint: 'ToBeDeletedByClusterAutoscaler' }),
      node('no-address', { noAddress: true }),
    ]);
    assert.deepEqual([...excluded].sort(), ['autoscaled-away', 'labelled', 'labelled-true', 'no-address']);
  });
});

describe('which Services the speaker announces', () => {
  const svc = (cls: string | undefined, owner: string | undefined, type = 'LoadBalancer') =>
    ({
      metadata: { name: 'web', annotations: owner ? { 'drawbridge.io/owner-class': owner } : {} },
      spec: { type, loadBalancerClass: cls },
    }) as V1Service;

  it('those the metal controller of that class marked as its own, class-less ones (--own-classless) included', () => {
    assert.equal(announcedBy(svc('drawbridge.io/metal', 'drawbridge.io/metal'), 'drawbridge.io/metal'), true);
    assert.equal(announcedBy(svc(undefined, 'drawbridge.io/metal'), 'drawbridge.io/metal'), true);
    assert.equal(announcedBy(svc('lab.example/l2', 'lab.example/l2'), 'lab.example/l2'), true);
    assert.equal(announcedBy(svc(undefined, 'lab.example/l2'), 'lab.example/l2'), true);
  });

  it('not one the controller has not taken, one of another class, or a Service no longer a LoadBalancer', () => {
    assert.equal(announcedBy(svc(undefined, undefined), 'drawbridge.io/metal'), false);
    assert.equal(announcedBy(svc('drawbridge.io/metal', undefined), 'drawbridge.io/metal'), false);
    assert.equal(announcedBy(svc('other.example/lb', 'drawbridge.io/metal'), 'drawbridge.io/metal'), false);
    assert.equal(announcedBy(svc(undefined, 'drawbridge.io/metal'), 'lab.example/l2'), false);
    assert.equal(announcedBy(svc(undefined, 'drawbridge.io/metal', 'NodePort'), 'drawbridge.io/metal'), false);
  });
});
