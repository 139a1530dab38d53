import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Node } from '@kubernetes/client-node';
import { eligibleNodes, nodeEligibility } from './eligibility.ts';

const EXCLUDE = 'node.kubernetes.io/exclude-from-external-load-balancers';

function node(name: string, edit: (n: V1Node) => void = () => {}): V1Node {
  const n: V1Node = {
    metadata: { name, labels: {} },
    spec: { providerID: `aws:///us-east-1a/i-${name}` },
    status: {
      addresses: [
        { type: 'Hostname', address: name },
        { type: 'InternalIP', address: '10.0.0.7' },
        { type: 'InternalIP', address: 'fd00::7' },
        { type: 'ExternalIP', address: '203.0.113.7' },
      ],
      conditions: [{ type: 'Ready', status: 'True' }],
    },
  };
  edit(n);
  return Object.freeze(n);
}

const reasonOf = (n: V1Node) => {
  const result = nodeEligibility(n);
  return result.eligible ? 'eligible' : result.reason;
};

describe('nodeEligibility', () => {
  test('an ordinary node becomes a backend with its first address of each kind', () => {
    assert.deepEqual(nodeEligibility(node('n1')), {
      eligible: true,
      backend: {
        name: 'n1',
        providerID: 'aws:///us-east-1a/i-n1',
        internalIP: '10.0.0.7',
        externalIP: '203.0.113.7',
      },
    });
  });

  test('a node being deleted is excluded', () => {
    assert.equal(
      reasonOf(
        node('n1', (n) => {
          n.metadata!.deletionTimestamp = new Date();
        }),
      ),
      'BeingDeleted',
    );
  });

  test('the exclude label excludes unless it parses as false', () => {
    const labelled = (value: string) =>
      node('n1', (n) => {
        n.metadata!.labels = { [EXCLUDE]: value };
      });
    assert.equal(reasonOf(labelled('false')), 'eligible');
    assert.equal(reasonOf(labelled('False')), 'eligible');
    assert.equal(reasonOf(labelled('0')), 'eligible');
    assert.equal(reasonOf(labelled('true')), 'ExcludedByLabel');
    assert.equal(reasonOf(labelled('')), 'ExcludedByLabel');
    assert.equal(reasonOf(labelled('no')), 'ExcludedByLabel');
  });

  test('the cluster-autoscaler deletion taint excludes, whatever its effect', () => {
    const tainted = node('n1', (n) => {
      n.spec!.taints = [{ key: 'ToBeDeletedByClusterAutoscaler', value: '1700000000', effect: 'NoSchedule' }];
    });
    assert.equal(reasonOf(tainted), 'ToBeDeletedByAutoscaler');
    const otherTaint = node('n1', (n) => {
      n.spec!.taints = [{ key: 'dedicated', effect: 'NoSchedule' }];
    });
    assert.equal(reasonOf(otherTaint), 'eligible');
  });

  test('Node Ready is not a criterion (KEP-3458)', () => {
    const notReady = node('n1', (n) => {
      n.status!.conditions = [{ type: 'Ready', status: 'False' }];
    });
    assert.equal(reasonOf(notReady), 'eligible');
  });

  test('a node needs an IP or a providerID', () => {
    const bare = (addresses: Array<{ type: string; address: string }>, providerID?: string) =>
      node('n1', (n) => {
        n.spec = providerID === undefined ? {} : { providerID };
        n.status = { addresses };
      });
    assert.equal(reasonOf(bare([{ type: 'Hostname', address: 'n1' }])), 'NoUsableAddress');
    assert.equal(reasonOf(bare([{ type: 'InternalIP', address: 'garbage' }], '')), 'NoUsableAddress');
    assert.deepEqual(nodeEligibility(bare([], 'gce://proj/zone/n1')), {
      eligible: true,
      backend: { name: 'n1', providerID: 'gce://proj/zone/n1', internalIP: null, externalIP: null },
    });
    assert.deepEqual(nodeEligibility(bare([{ type: 'InternalIP', address: 'fd00::0007' }])), {
      eligible: true,
      backend: { name: 'n1', providerID: null, internalIP: 'fd00::7', externalIP: null },
    });
  });
});

describe('eligibleNodes', () => {
  test('keeps eligible nodes only, sorted by name', () => {
    const nodes = [
      node('zeta'),
      node('alpha'),
      node('gone', (n) => {
        n.metadata!.deletionTimestamp = new Date();
      }),
      node('mid'),
    ];
    assert.deepEqual(
      eligibleNodes(nodes).map((backend) => backend.name),
      ['alpha', 'mid', 'zeta'],
    );
    assert.deepEqual(
      nodes.map((n) => n.metadata?.name),
      ['zeta', 'alpha', 'gone', 'mid'],
    );
  });
});
