// The speaker's node exclusion is the controller's node eligibility, case by case.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
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
