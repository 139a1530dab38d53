import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatAddress, formatRange } from './addresses.ts';
import { type AddressPool, parsePool } from './schema.ts';

function resource(spec: unknown, name: unknown = 'lan'): unknown {
  return { apiVersion: 'drawbridge.io/v1alpha1', kind: 'AddressPool', metadata: { name }, spec };
}

function parsed(spec: unknown): AddressPool {
  const result = parsePool(resource(spec));
  if (!result.ok) assert.fail(`expected a valid pool, got ${JSON.stringify(result.problems)}`);
  return result.pool;
}

function problemsOf(obj: unknown): Record<string, string> {
  const result = parsePool(obj);
  assert.ok(!result.ok, 'expected problems');
  return Object.fromEntries(result.problems.map((problem) => [problem.path, problem.message]));
}

describe('parsePool', () => {
  it('parses CIDRs and ranges of both families, IPv4 first and each family by start', () => {
    const pool = parsed({ addresses: ['fd00::/120', '192.168.10.100-192.168.10.110', '192.168.10.0/26'] });
    assert.equal(pool.name, 'lan');
    assert.deepEqual(pool.ranges.map(formatRange), [
      '192.168.10.0-192.168.10.63',
      '192.168.10.100-192.168.10.110',
      'fd00::-fd00::ff',
    ]);
    assert.deepEqual(
      pool.ranges.map((range) => range.family),
      ['IPv4', 'IPv4', 'IPv6'],
    );
  });

  it('applies the defaults: autoAssign on, avoidBuggyIPs off, every namespace, announced by L2', () => {
    const pool = parsed({ addresses: ['10.0.0.0/24'] });
    assert.equal(pool.autoAssign, true);
    assert.equal(pool.avoidBuggyIPs, false);
    assert.equal(pool.namespaces, null);
    assert.equal(pool.l2, true);
  });

  it('l2: false leaves the pool to BGP alone', () => {
    assert.equal(parsed({ addresses: ['10.0.0.0/24'], l2: false }).l2, false);
  });

  it('keeps explicit settings', () => {
    const pool = parsed({ addresses: ['10.0.0.0/24'], autoAssign: false, avoidBuggyIPs: true, namespaces: ['team-a'] });
    assert.equal(pool.autoAssign, false);
    assert.equal(pool.avoidBuggyIPs, true);
    assert.deepEqual(pool.namespaces, ['team-a']);
  });

  it('accepts a one-address range and a /32, and spaces around the range dash', () => {
    const pool = parsed({ addresses: ['10.0.0.7-10.0.0.7', '10.0.0.9/32', '10.0.0.20 - 10.0.0.21'] });
    assert.deepEqual(pool.ranges.map(formatRange), ['10.0.0.7', '10.0.0.9', '10.0.0.20-10.0.0.21']);
  });

  it('reports every problem at once, each at its path', () => {
    const problems = problemsOf({
      apiVersion: 'drawbridge.io/v1',
      kind: 'AddressPool',
      metadata: {},
      spec: {
        addresses: [
          '10.0.0.0/24',
          '10.0.0.300/24',
          '10.0.0.20-10.0.0.10',
          '10.0.1.1-fd00::1',
          '10.0.2.5/24',
          42,
          '10.0.0.128/25',
          '10.0.3.1',
        ],
        autoAssign: 'yes',
        namespaces: ['Team_A'],
        autoassign: true,
      },
    });
    assert.deepEqual(Object.keys(problems).sort(), [
      'apiVersion',
      'metadata.name',
      'spec.addresses[1]',
      'spec.addresses[2]',
      'spec.addresses[3]',
      'spec.addresses[4]',
      'spec.addresses[5]',
      'spec.addresses[6]',
      'spec.addresses[7]',
      'spec.autoAssign',
      'spec.autoassign',
      'spec.namespaces[0]',
    ]);
    assert.match(problems['spec.addresses[1]']!, /not a valid CIDR/);
    assert.match(problems['spec.addresses[2]']!, /range start is after range end/);
    assert.match(problems['spec.addresses[3]']!, /mixes IPv4 and IPv6/);
    assert.match(problems['spec.addresses[4]']!, /host bits set; the network is 10\.0\.2\.0\/24/);
    assert.match(problems['spec.addresses[5]']!, /expected string/);
    assert.match(problems['spec.addresses[6]']!, /overlaps spec\.addresses\[0\].*10\.0\.0\.128-10\.0\.0\.255/);
    assert.match(problems['spec.addresses[7]']!, /neither a CIDR nor a start-end range.*10\.0\.3\.1\/32/);
    assert.match(problems['spec.autoAssign']!, /expected boolean/);
    assert.equal(problems['spec.autoassign'], 'unknown field');
    assert.match(problems['spec.namespaces[0]']!, /namespace name/);
  });

  it('checks overlaps between entries even when other fields are wrong', () => {
    const problems = problemsOf(resource({ addresses: ['fd00::/120', 'fd00::80-fd00::1ff'], avoidBuggyIPs: 1 }));
    assert.deepEqual(Object.keys(problems).sort(), ['spec.addresses[1]', 'spec.avoidBuggyIPs']);
    assert.match(problems['spec.addresses[1]']!, /fd00::80-fd00::ff/);
  });

  it('rejects address forms that do not mean what they look like', () => {
    for (const entry of [
      '10.1/16',
      '010.0.0.0/8',
      '0x0a.0.0.0/8',
      'fe80::%eth0/64',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/-1',
    ]) {
      const problems = problemsOf(resource({ addresses: [entry] }));
      assert.deepEqual(Object.keys(problems), ['spec.addresses[0]'], entry);
    }
  });

  it('requires at least one address and at least one namespace when namespaces is set', () => {
    const problems = problemsOf(resource({ addresses: [], namespaces: [] }));
    assert.deepEqual(Object.keys(problems).sort(), ['spec.addresses', 'spec.namespaces']);
  });

  it('reports a missing spec and a wrong kind, and a non-object at the root', () => {
    assert.deepEqual(
      Object.keys(problemsOf({ apiVersion: 'drawbridge.io/v1alpha1', kind: 'Pool', metadata: { name: 'x' } })),
      ['kind', 'spec'],
    );
    assert.deepEqual(Object.keys(problemsOf('10.0.0.0/24')), ['(root)']);
  });

  it('prints IPv6 addresses in canonical form', () => {
    const pool = parsed({ addresses: ['FD00:0:0:0::10-fd00::0020'] });
    assert.equal(formatRange(pool.ranges[0]!), 'fd00::10-fd00::20');
    assert.equal(formatAddress('IPv6', pool.ranges[0]!.first), 'fd00::10');
  });
});
