// Over 300 lines: the allocator's cases (pools, requests, sharing, families, restore), the spec of ipam/.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { IpFamily } from '../../../src/lib/net/ip.ts';
import { type AddressPool, parsePool } from '../model/schema.ts';
import {
  AddressAllocator,
  AllocReason,
  type AssignRequest,
  type AssignResult,
  type PortClaim,
  selectorKeyOf,
} from './allocator.ts';

interface PoolOptions {
  autoAssign?: boolean;
  avoidBuggyIPs?: boolean;
  namespaces?: string[];
}

function pool(name: string, addresses: string[], options: PoolOptions = {}): AddressPool {
  const spec = { addresses, ...options };
  const result = parsePool({ apiVersion: 'drawbridge.io/v1alpha1', kind: 'AddressPool', metadata: { name }, spec });
  if (!result.ok) assert.fail(JSON.stringify(result.problems));
  return result.pool;
}

const HTTP: PortClaim[] = [{ port: 80, protocol: 'TCP' }];
const DNS: PortClaim[] = [
  { port: 53, protocol: 'UDP' },
  { port: 53, protocol: 'TCP' },
];

/** A request for `key` ("namespace/name") with neutral defaults. */
function request(key: string, overrides: Partial<AssignRequest> = {}): AssignRequest {
  const namespace = key.split('/')[0]!;
  return { key, namespace, requested: [], current: [], sharingKey: null, ports: HTTP, family: 'IPv4', ...overrides };
}

function ipOf(result: AssignResult): string {
  if (!result.ok) assert.fail(`expected an address, got ${result.reason}: ${result.message}`);
  return result.ip;
}

function failure(result: AssignResult | { ok: boolean }, reason: AllocReason): string {
  if (result.ok || !('reason' in result)) assert.fail(`expected ${reason}, got ${JSON.stringify(result)}`);
  assert.equal(result.reason, reason, result.message);
  return result.message;
}

describe('AddressAllocator: automatic allocation', () => {
  it('hands out the lowest free address, in order', () => {
    const allocator = new AddressAllocator([pool('lan', ['192.168.10.0/29'])]);
    assert.equal(ipOf(allocator.assign(request('default/a'))), '192.168.10.0');
    assert.equal(ipOf(allocator.assign(request('default/b'))), '192.168.10.1');
    allocator.release('default/a');
    assert.equal(ipOf(allocator.assign(request('default/c'))), '192.168.10.0');
  });

  it('reports the pool the address came from', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/30'])]);
    assert.deepEqual(allocator.assign(request('default/a')), { ok: true, ip: '10.0.0.0', pool: 'lan' });
    assert.deepEqual(allocator.allocationOf('default/a'), {
      ip: '10.0.0.0',
      family: 'IPv4',
      pool: 'lan',
      sharingKey: null,
      ports: HTTP,
    });
  });

  it('does not depend on the order pools are given in', () => {
    const pools = [pool('b', ['10.0.1.0/30']), pool('a', ['10.0.2.0/30'])];
    const forward = new AddressAllocator(pools);
    const backward = new AddressAllocator([...pools].reverse());
    assert.equal(ipOf(forward.assign(request('default/x'))), '10.0.2.0');
    assert.equal(ipOf(backward.assign(request('default/x'))), '10.0.2.0');
  });

  it('is idempotent: the same key and inputs get the same address and use nothing more', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'])]);
    const first = allocator.assign(request('default/a'));
    const again = allocator.assign(request('default/a'));
    assert.deepEqual(again, first);
    assert.equal(allocator.usage()[0]!.used, 1);
  });

  it('keeps a still-valid current address from the Service status, even when a lower one is free', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'])]);
    const result = allocator.assign(request('default/a', { current: ['10.0.0.42'] }));
    assert.deepEqual(result, { ok: true, ip: '10.0.0.42', pool: 'lan' });
  });

  it('replaces a current address that is no longer in any pool', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'])]);
    assert.equal(ipOf(allocator.assign(request('default/a', { current: ['172.16.0.1'] }))), '10.0.0.0');
  });

  it('replaces a current address another Service holds', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'])]);
    allocator.assign(request('default/a', { requested: ['10.0.0.7'] }));
    assert.equal(ipOf(allocator.assign(request('default/b', { current: ['10.0.0.7'] }))), '10.0.0.0');
  });

  it('uses only autoAssign pools unless the pool is named', () => {
    const allocator = new AddressAllocator([
      pool('a-reserved', ['10.0.0.0/30'], { autoAssign: false }),
      pool('b-open', ['10.0.1.0/30']),
    ]);
    assert.deepEqual(allocator.assign(request('default/x')), { ok: true, ip: '10.0.1.0', pool: 'b-open' });
    assert.deepEqual(allocator.assign(request('default/y', { pool: 'a-reserved' })), {
      ok: true,
      ip: '10.0.0.0',
      pool: 'a-reserved',
    });
  });

  it('moves to the named pool when the Service starts naming one', () => {
    const allocator = new AddressAllocator([pool('a', ['10.0.0.0/30']), pool('b', ['10.0.1.0/30'])]);
    assert.equal(ipOf(allocator.assign(request('default/x'))), '10.0.0.0');
    assert.equal(ipOf(allocator.assign(request('default/x', { pool: 'b', current: ['10.0.0.0'] }))), '10.0.1.0');
    assert.equal(allocator.usage().find((u) => u.pool === 'a')!.used, 0);
  });

  it('prefers a pool reserved for the namespace over one open to all', () => {
    const allocator = new AddressAllocator([
      pool('a-shared', ['10.0.0.0/30']),
      pool('b-team', ['10.0.1.0/30'], { namespaces: ['team'] }),
    ]);
    assert.equal(ipOf(allocator.assign(request('team/x'))), '10.0.1.0');
    assert.equal(ipOf(allocator.assign(request('other/x'))), '10.0.0.0');
  });

  it('skips .0 and .255 with avoidBuggyIPs, across /24 boundaries', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.254-10.0.1.2'], { avoidBuggyIPs: true })]);
    const ips = ['a', 'b', 'c'].map((name) => ipOf(allocator.assign(request(`default/${name}`))));
    assert.deepEqual(ips, ['10.0.0.254', '10.0.1.1', '10.0.1.2']);
    failure(allocator.assign(request('default/d')), AllocReason.PoolExhausted);
    assert.deepEqual(allocator.usage(), [{ pool: 'lan', total: 3n, used: 3 }]);
  });

  it('hands out .0 and .255 without avoidBuggyIPs', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.255-10.0.1.0'])]);
    assert.equal(ipOf(allocator.assign(request('default/a'))), '10.0.0.255');
    assert.equal(ipOf(allocator.assign(request('default/b'))), '10.0.1.0');
  });

  it('allocates IPv6 from IPv6 ranges, in canonical form; avoidBuggyIPs does not apply to IPv6', () => {
    // A start-end range, so fd00:: is not a subnet-router anycast address (see the anycast tests below).
    const allocator = new AddressAllocator([pool('dual', ['10.0.0.0/30', 'fd00::-fd00::ff'], { avoidBuggyIPs: true })]);
    assert.equal(ipOf(allocator.assign(request('default/a', { family: 'IPv6' }))), 'fd00::');
    assert.equal(ipOf(allocator.assign(request('default/b', { family: 'IPv6' }))), 'fd00::1');
    assert.equal(
      ipOf(allocator.assign(request('default/c', { family: 'IPv6', requested: ['FD00:0::00ff'] }))),
      'fd00::ff',
    );
    assert.equal(ipOf(allocator.assign(request('default/d', { family: 'IPv4' }))), '10.0.0.1');
  });

  it('holds one address per family for a dual-stack Service', () => {
    const allocator = new AddressAllocator([pool('dual', ['10.0.0.0/30', 'fd00::/126'])]);
    const both: IpFamily[] = ['IPv4', 'IPv6'];
    const ips = both.map((family) => ipOf(allocator.assign(request('default/a', { family }))));
    assert.deepEqual(ips, ['10.0.0.0', 'fd00::1']);
    assert.equal(allocator.allocationOf('default/a', 'IPv6')!.ip, 'fd00::1');
    assert.equal(allocator.allocationOf('default/a')!.ip, '10.0.0.0');
    assert.equal(allocator.release('default/a'), true);
    assert.equal(allocator.allocationOf('default/a'), null);
    assert.deepEqual(allocator.usage(), [{ pool: 'dual', total: 7n, used: 0 }]); // 4 IPv4 + 3 IPv6 (no fd00::)
  });

  it('gives 300 Services distinct addresses from a /24 plus a /24', () => {
    const allocator = new AddressAllocator([pool('a', ['192.168.1.0/24']), pool('b', ['192.168.2.0/24'])]);
    const ips = new Set<string>();
    for (let i = 0; i < 300; i++) ips.add(ipOf(allocator.assign(request(`default/svc-${i}`))));
    assert.equal(ips.size, 300);
    assert.ok(ips.has('192.168.1.255') && ips.has('192.168.2.43') && !ips.has('192.168.2.44'));
    assert.deepEqual(allocator.usage(), [
      { pool: 'a', total: 256n, used: 256 },
      { pool: 'b', total: 256n, used: 44 },
    ]);
  });

  it('copes with a /16 and a /64 without enumerating them', () => {
    const allocator = new AddressAllocator([pool('big', ['10.0.0.0/16', 'fd00::/64'], { avoidBuggyIPs: true })]);
    let last = '';
    for (let i = 0; i < 300; i++) last = ipOf(allocator.assign(request(`default/svc-${i}`)));
    assert.equal(last, '10.0.1.46'); // 254 usable in 10.0.0.x, then 10.0.1.1 onwards
    assert.equal(ipOf(allocator.assign(request('default/v6', { family: 'IPv6' }))), 'fd00::1');
    assert.deepEqual(allocator.usage(), [{ pool: 'big', total: 65536n - 512n + (1n << 64n) - 1n, used: 301 }]);
  });
});

describe('AddressAllocator: IPv6 subnet-router anycast', () => {
  it('never hands out the first address of an IPv6 CIDR, and does not count it', () => {
    const allocator = new AddressAllocator([pool('v6', ['fd00:10::/64'])]);
    assert.equal(ipOf(allocator.assign(request('default/a', { family: 'IPv6' }))), 'fd00:10::1');
    assert.equal(ipOf(allocator.assign(request('default/b', { family: 'IPv6' }))), 'fd00:10::2');
    assert.deepEqual(allocator.usage(), [{ pool: 'v6', total: (1n << 64n) - 1n, used: 2 }]);
  });

  it('skips it in every CIDR of the pool, the smallest (/126) included', () => {
    const allocator = new AddressAllocator([pool('v6', ['fd00::/126', 'fd00:1::/126'])]);
    const ips = ['a', 'b', 'c', 'd'].map((name) =>
      ipOf(allocator.assign(request(`default/${name}`, { family: 'IPv6' }))),
    );
    assert.deepEqual(ips, ['fd00::1', 'fd00::2', 'fd00::3', 'fd00:1::1']);
    assert.deepEqual(allocator.usage(), [{ pool: 'v6', total: 6n, used: 4 }]);
  });

  it('hands out both addresses of a /127 and the one of a /128', () => {
    const allocator = new AddressAllocator([pool('p2p', ['fd00::/127', 'fd00:1::/128'])]);
    const ips = ['a', 'b', 'c'].map((name) => ipOf(allocator.assign(request(`default/${name}`, { family: 'IPv6' }))));
    assert.deepEqual(ips, ['fd00::', 'fd00::1', 'fd00:1::']);
    assert.deepEqual(allocator.usage(), [{ pool: 'p2p', total: 3n, used: 3 }]);
  });

  it('takes a start-end range literally, and IPv4 CIDRs are not affected', () => {
    const allocator = new AddressAllocator([pool('lit', ['10.0.0.0/30', 'fd00::-fd00::3'])]);
    assert.equal(ipOf(allocator.assign(request('default/a', { family: 'IPv6' }))), 'fd00::');
    assert.equal(ipOf(allocator.assign(request('default/b'))), '10.0.0.0');
    assert.deepEqual(allocator.usage(), [{ pool: 'lit', total: 8n, used: 2 }]);
  });

  it('AddressNotInPool: requesting it, or keeping it from the status, is refused and says why', () => {
    const allocator = new AddressAllocator([pool('v6', ['fd00:10::/64'])]);
    const result = allocator.assign(request('default/a', { family: 'IPv6', requested: ['FD00:10:0::0'] }));
    assert.match(
      failure(result, AllocReason.AddressNotInPool),
      /fd00:10:: is the subnet-router anycast address of fd00:10::\/64 .*never handed out/,
    );
    assert.equal(allocator.allocationOf('default/a'), null);
    const moved = allocator.assign(request('default/a', { family: 'IPv6', current: ['fd00:10::'] }));
    assert.equal(ipOf(moved), 'fd00:10::1');
  });

  it('is not joined as a shared address even when a restored Service shows it', () => {
    const allocator = new AddressAllocator([pool('v6', ['fd00::/120'])]);
    assert.ok(allocator.restore('default/old', 'fd00::', { sharingKey: 'web', ports: HTTP }).ok);
    const joined = allocator.assign(request('default/new', { family: 'IPv6', sharingKey: 'web', ports: DNS }));
    assert.equal(ipOf(joined), 'fd00::1');
  });
});

describe('AddressAllocator: requested addresses', () => {
  const lan = () => pool('lan', ['10.0.0.0/24']);

  it('grants a free requested address', () => {
    const allocator = new AddressAllocator([lan()]);
    assert.deepEqual(allocator.assign(request('default/a', { requested: ['10.0.0.50'] })), {
      ok: true,
      ip: '10.0.0.50',
      pool: 'lan',
    });
  });

  it('grants a requested address from a pool with autoAssign off', () => {
    const allocator = new AddressAllocator([pool('manual', ['10.0.0.0/24'], { autoAssign: false })]);
    assert.equal(ipOf(allocator.assign(request('default/a', { requested: ['10.0.0.9'] }))), '10.0.0.9');
  });

  it('ignores requested addresses of the other family', () => {
    const allocator = new AddressAllocator([pool('dual', ['10.0.0.0/24', 'fd00::/120'])]);
    const requested = ['10.0.0.9', 'fd00::9'];
    assert.equal(ipOf(allocator.assign(request('default/a', { requested, family: 'IPv4' }))), '10.0.0.9');
    assert.equal(ipOf(allocator.assign(request('default/a', { requested, family: 'IPv6' }))), 'fd00::9');
  });

  it('moves to a newly requested address and frees the old one', () => {
    const allocator = new AddressAllocator([lan()]);
    allocator.assign(request('default/a', { requested: ['10.0.0.50'] }));
    allocator.assign(request('default/a', { requested: ['10.0.0.60'], current: ['10.0.0.50'] }));
    assert.equal(ipOf(allocator.assign(request('default/b', { requested: ['10.0.0.50'] }))), '10.0.0.50');
  });

  it('AddressNotInPool: outside every pool', () => {
    const allocator = new AddressAllocator([lan()]);
    const message = failure(
      allocator.assign(request('default/a', { requested: ['10.9.9.9'] })),
      AllocReason.AddressNotInPool,
    );
    assert.match(message, /10\.9\.9\.9 is not in any address pool/);
  });

  it('AddressNotInPool: only in a pool the namespace may not use', () => {
    const allocator = new AddressAllocator([pool('team', ['10.0.0.0/24'], { namespaces: ['team'] })]);
    const message = failure(
      allocator.assign(request('other/a', { requested: ['10.0.0.5'] })),
      AllocReason.AddressNotInPool,
    );
    assert.match(message, /"team" is restricted to namespaces team, not other/);
    assert.equal(ipOf(allocator.assign(request('team/a', { requested: ['10.0.0.5'] }))), '10.0.0.5');
  });

  it('AddressNotInPool: not in the pool the Service names', () => {
    const allocator = new AddressAllocator([lan(), pool('dmz', ['10.1.0.0/24'])]);
    const result = allocator.assign(request('default/a', { requested: ['10.0.0.5'], pool: 'dmz' }));
    assert.match(
      failure(result, AllocReason.AddressNotInPool),
      /not in the requested pool "dmz" \(it is in pool "lan"\)/,
    );
  });

  it('AddressNotInPool: a .0/.255 address in an avoidBuggyIPs pool', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'], { avoidBuggyIPs: true })]);
    const result = allocator.assign(request('default/a', { requested: ['10.0.0.255'] }));
    assert.match(failure(result, AllocReason.AddressNotInPool), /avoidBuggyIPs/);
  });

  it('AddressInUse: held by a Service that does not share', () => {
    const allocator = new AddressAllocator([lan()]);
    allocator.assign(request('default/a', { requested: ['10.0.0.5'] }));
    const result = allocator.assign(request('default/b', { requested: ['10.0.0.5'], ports: DNS }));
    assert.match(failure(result, AllocReason.AddressInUse), /in use by Service default\/a: it does not allow sharing/);
  });

  it('AddressInUse: the sharing keys differ, or only one side has one', () => {
    const allocator = new AddressAllocator([lan()]);
    allocator.assign(request('default/a', { requested: ['10.0.0.5'], sharingKey: 'k1' }));
    const other = allocator.assign(request('default/b', { requested: ['10.0.0.5'], sharingKey: 'k2', ports: DNS }));
    assert.match(failure(other, AllocReason.AddressInUse), /sharing keys differ/);
    const none = allocator.assign(request('default/c', { requested: ['10.0.0.5'], ports: DNS }));
    assert.match(failure(none, AllocReason.AddressInUse), /has no sharing key/);
  });

  it('PortCollision: same sharing key, same port and protocol', () => {
    const allocator = new AddressAllocator([lan()]);
    allocator.assign(request('default/a', { requested: ['10.0.0.5'], sharingKey: 'k', ports: DNS }));
    const result = allocator.assign(
      request('default/b', { requested: ['10.0.0.5'], sharingKey: 'k', ports: [{ port: 53, protocol: 'TCP' }] }),
    );
    assert.match(failure(result, AllocReason.PortCollision), /both use 53\/TCP/);
  });

  it('shares an address when the keys match and the ports differ (same port, other protocol included)', () => {
    const allocator = new AddressAllocator([lan()]);
    const udp: PortClaim[] = [{ port: 53, protocol: 'UDP' }];
    const tcp: PortClaim[] = [{ port: 53, protocol: 'TCP' }];
    allocator.assign(request('default/udp', { requested: ['10.0.0.5'], sharingKey: 'dns', ports: udp }));
    const result = allocator.assign(request('default/tcp', { requested: ['10.0.0.5'], sharingKey: 'dns', ports: tcp }));
    assert.equal(ipOf(result), '10.0.0.5');
    assert.equal(allocator.usage()[0]!.used, 1);
    allocator.release('default/udp');
    assert.equal(allocator.allocationOf('default/tcp')!.ip, '10.0.0.5');
    failure(allocator.assign(request('default/other', { requested: ['10.0.0.5'] })), AllocReason.AddressInUse);
  });

  it('InvalidAddress: not an IP, or two of one family', () => {
    const allocator = new AddressAllocator([lan()]);
    failure(allocator.assign(request('default/a', { requested: ['10.0.0'] })), AllocReason.InvalidAddress);
    const two = allocator.assign(request('default/a', { requested: ['10.0.0.1', '10.0.0.2'] }));
    assert.match(failure(two, AllocReason.InvalidAddress), /more than one IPv4 address/);
  });

  it('a failed assign leaves the previous allocation in place', () => {
    const allocator = new AddressAllocator([lan()]);
    allocator.assign(request('default/a', { requested: ['10.0.0.1'] }));
    allocator.assign(request('default/b', { requested: ['10.0.0.2'] }));
    failure(allocator.assign(request('default/b', { requested: ['10.0.0.1'] })), AllocReason.AddressInUse);
    assert.equal(allocator.allocationOf('default/b')!.ip, '10.0.0.2');
  });
});

describe('AddressAllocator: sharing without a requested address', () => {
  it('joins an address already shared under the same key when the ports fit', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'])]);
    allocator.assign(request('default/first', { requested: ['10.0.0.9'], sharingKey: 'web' }));
    allocator.assign(request('default/plain'));
    const https: PortClaim[] = [{ port: 443, protocol: 'TCP' }];
    assert.equal(ipOf(allocator.assign(request('default/second', { sharingKey: 'web', ports: https }))), '10.0.0.9');
  });

  it('takes a fresh address when the ports collide, the key differs or there is no key', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'])]);
    allocator.assign(request('default/first', { requested: ['10.0.0.9'], sharingKey: 'web' }));
    assert.equal(ipOf(allocator.assign(request('default/collides', { sharingKey: 'web' }))), '10.0.0.0');
    assert.equal(ipOf(allocator.assign(request('default/other-key', { sharingKey: 'db', ports: DNS }))), '10.0.0.1');
    assert.equal(ipOf(allocator.assign(request('default/no-key', { ports: DNS }))), '10.0.0.2');
  });

  it('does not join an address in a pool the Service may not use', () => {
    const allocator = new AddressAllocator([
      pool('a-team', ['10.0.0.0/24'], { namespaces: ['team'] }),
      pool('b-open', ['10.0.1.0/24']),
    ]);
    allocator.assign(request('team/first', { sharingKey: 'web' }));
    assert.equal(ipOf(allocator.assign(request('other/second', { sharingKey: 'web', ports: DNS }))), '10.0.1.0');
  });
});

describe('AddressAllocator: sharing and externalTrafficPolicy', () => {
  const lan = () => pool('lan', ['10.0.0.0/24']);
  const HTTPS: PortClaim[] = [{ port: 443, protocol: 'TCP' }];
  /** A request for 10.0.0.5 under sharing key "web". */
  const shared = (key: string, overrides: Partial<AssignRequest>) =>
    request(key, { requested: ['10.0.0.5'], sharingKey: 'web', ...overrides });

  it('shares between Local Services with the same selector', () => {
    const allocator = new AddressAllocator([lan()]);
    const app = selectorKeyOf({ app: 'web', tier: 'front' });
    ipOf(allocator.assign(shared('default/a', { trafficPolicy: 'Local', selectorKey: app })));
    const b = allocator.assign(shared('default/b', { trafficPolicy: 'Local', selectorKey: app, ports: HTTPS }));
    assert.equal(ipOf(b), '10.0.0.5');
    assert.equal(allocator.usage()[0]!.used, 1);
  });

  it('shares between Cluster Services whatever their selectors; an absent policy is Cluster', () => {
    const allocator = new AddressAllocator([lan()]);
    ipOf(allocator.assign(shared('default/a', { trafficPolicy: 'Cluster', selectorKey: 'app=a' })));
    assert.equal(ipOf(allocator.assign(shared('default/b', { selectorKey: 'app=b', ports: HTTPS }))), '10.0.0.5');
    assert.equal(ipOf(allocator.assign(shared('default/c', { ports: DNS }))), '10.0.0.5');
  });

  it('TrafficPolicyConflict: two Local Services with different selectors', () => {
    const allocator = new AddressAllocator([lan()]);
    ipOf(allocator.assign(shared('default/a', { trafficPolicy: 'Local', selectorKey: 'app=a' })));
    const b = allocator.assign(shared('default/b', { trafficPolicy: 'Local', selectorKey: 'app=b', ports: HTTPS }));
    const message = failure(b, AllocReason.TrafficPolicyConflict);
    assert.match(message, /^10\.0\.0\.5 is in use by Service default\/a: /);
    assert.match(message, /both must be externalTrafficPolicy Local with the same selector/);
    assert.match(message, /it is Local with selector app=a, this Service is Local with selector app=b/);
    assert.equal(allocator.allocationOf('default/b'), null);
  });

  it('TrafficPolicyConflict: Local with Cluster, either way round, even with equal selectors', () => {
    const allocator = new AddressAllocator([lan()]);
    ipOf(allocator.assign(shared('default/local', { trafficPolicy: 'Local', selectorKey: 'app=a' })));
    const cluster = allocator.assign(shared('default/cluster', { selectorKey: 'app=a', ports: HTTPS }));
    assert.match(
      failure(cluster, AllocReason.TrafficPolicyConflict),
      /in use by Service default\/local: .*this Service is Cluster/,
    );

    const other = new AddressAllocator([lan()]);
    ipOf(other.assign(shared('default/cluster', {})));
    const local = other.assign(shared('default/local', { trafficPolicy: 'Local', ports: HTTPS }));
    assert.match(
      failure(local, AllocReason.TrafficPolicyConflict),
      /in use by Service default\/cluster: .*it is Cluster, this Service is Local with no selector/,
    );
  });

  it('checks the sharing key first and the ports last', () => {
    const allocator = new AddressAllocator([lan()]);
    ipOf(allocator.assign(shared('default/a', { trafficPolicy: 'Local', selectorKey: 'app=a' })));
    const otherKey = allocator.assign(shared('default/b', { sharingKey: 'db', ports: HTTPS }));
    failure(otherKey, AllocReason.AddressInUse);
    const samePorts = allocator.assign(shared('default/c', { trafficPolicy: 'Local', selectorKey: 'app=c' }));
    failure(samePorts, AllocReason.TrafficPolicyConflict);
  });

  it('joins an address shared under the key only when the policy and selector fit, else takes a fresh one', () => {
    const allocator = new AddressAllocator([lan()]);
    ipOf(allocator.assign(shared('default/a', { trafficPolicy: 'Local', selectorKey: 'app=a' })));
    const auto = (key: string, overrides: Partial<AssignRequest>) =>
      ipOf(allocator.assign(request(key, { sharingKey: 'web', ports: HTTPS, ...overrides })));
    assert.equal(auto('default/b', { trafficPolicy: 'Local', selectorKey: 'app=b' }), '10.0.0.0');
    assert.equal(auto('default/c', {}), '10.0.0.1');
    assert.equal(auto('default/d', { trafficPolicy: 'Local', selectorKey: 'app=a', ports: DNS }), '10.0.0.5');
  });

  it('restore() refuses the same conflicts and allows the same sharing', () => {
    const allocator = new AddressAllocator([lan()]);
    const local = (selectorKey: string, ports: PortClaim[]) => ({
      sharingKey: 'web',
      ports,
      trafficPolicy: 'Local' as const,
      selectorKey,
    });
    assert.ok(allocator.restore('default/a', '10.0.0.5', local('app=a', HTTP)).ok);
    assert.ok(allocator.restore('default/b', '10.0.0.5', local('app=a', HTTPS)).ok);
    const other = allocator.restore('default/c', '10.0.0.5', local('app=c', DNS));
    assert.match(failure(other, AllocReason.TrafficPolicyConflict), /in use by Service default\/a: both must be/);
    const cluster = allocator.restore('default/d', '10.0.0.5', { sharingKey: 'web', ports: DNS });
    failure(cluster, AllocReason.TrafficPolicyConflict);
    assert.equal(allocator.allocationOf('default/c'), null);
    assert.equal(allocator.allocationOf('default/d'), null);
    assert.equal(allocator.allocationOf('default/b')!.ip, '10.0.0.5');
  });
});

describe('selectorKeyOf', () => {
  it('is the sorted k=v list, so equal selectors give equal keys', () => {
    assert.equal(selectorKeyOf({ tier: 'front', app: 'web' }), 'app=web,tier=front');
    assert.equal(selectorKeyOf({ app: 'web', tier: 'front' }), selectorKeyOf({ tier: 'front', app: 'web' }));
    assert.notEqual(selectorKeyOf({ app: 'web' }), selectorKeyOf({ app: 'web', tier: 'front' }));
    assert.equal(selectorKeyOf({}), '');
    assert.equal(selectorKeyOf(undefined), '');
  });
});

describe('AddressAllocator: pool rules', () => {
  it('UnknownPool', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/24'])]);
    const message = failure(allocator.assign(request('default/a', { pool: 'nope' })), AllocReason.UnknownPool);
    assert.match(message, /"nope" does not exist/);
  });

  it('PoolNotAllowed: the named pool excludes the namespace', () => {
    const allocator = new AddressAllocator([pool('team', ['10.0.0.0/24'], { namespaces: ['team'] })]);
    failure(allocator.assign(request('other/a', { pool: 'team' })), AllocReason.PoolNotAllowed);
    assert.equal(ipOf(allocator.assign(request('team/a', { pool: 'team' }))), '10.0.0.0');
  });

  it('PoolNotAllowed: every auto-assign pool excludes the namespace', () => {
    const allocator = new AddressAllocator([pool('team', ['10.0.0.0/24'], { namespaces: ['team', 'ops'] })]);
    const message = failure(allocator.assign(request('other/a')), AllocReason.PoolNotAllowed);
    assert.match(message, /pool "team"\) excludes namespace other/);
  });

  it('PoolExhausted: no free address left', () => {
    const allocator = new AddressAllocator([pool('tiny', ['10.0.0.0/31'])]);
    allocator.assign(request('default/a'));
    allocator.assign(request('default/b'));
    const message = failure(allocator.assign(request('default/c')), AllocReason.PoolExhausted);
    assert.match(message, /no free IPv4 address in pool "tiny"/);
  });

  it('PoolExhausted: no pool of the family', () => {
    const allocator = new AddressAllocator([pool('v4', ['10.0.0.0/24'])]);
    const auto = failure(allocator.assign(request('default/a', { family: 'IPv6' })), AllocReason.PoolExhausted);
    assert.match(auto, /no auto-assign address pool has IPv6 addresses/);
    const named = failure(
      allocator.assign(request('default/a', { family: 'IPv6', pool: 'v4' })),
      AllocReason.PoolExhausted,
    );
    assert.match(named, /no IPv6 addresses in pool "v4"/);
  });

  it('OverlappingPools: refuses new addresses from overlapping pools and says which', () => {
    const allocator = new AddressAllocator([
      pool('a', ['10.0.0.0/24']),
      pool('b', ['10.0.0.128/25']),
      pool('z', ['10.9.0.0/30'], { autoAssign: false }),
    ]);
    const auto = failure(allocator.assign(request('default/x')), AllocReason.OverlappingPools);
    assert.match(auto, /"a" and "b" share 10\.0\.0\.128-10\.0\.0\.255/);
    failure(allocator.assign(request('default/x', { pool: 'a' })), AllocReason.OverlappingPools);
    failure(allocator.assign(request('default/x', { requested: ['10.0.0.1'] })), AllocReason.OverlappingPools);
    assert.equal(ipOf(allocator.assign(request('default/x', { pool: 'z' }))), '10.9.0.0');
  });

  it('OverlappingPools: other pools still serve automatic allocation', () => {
    const allocator = new AddressAllocator([
      pool('a', ['10.0.0.0/24']),
      pool('b', ['10.0.0.0/28']),
      pool('c', ['10.1.0.0/30']),
    ]);
    assert.deepEqual(allocator.assign(request('default/x')), { ok: true, ip: '10.1.0.0', pool: 'c' });
  });

  it('an overlap added later does not take addresses away from Services holding them', () => {
    const allocator = new AddressAllocator([pool('a', ['10.0.0.0/24'])]);
    const first = allocator.assign(request('default/x'));
    const second = allocator.assign(request('default/y', { requested: ['10.0.0.7'] }));
    allocator.setPools([pool('a', ['10.0.0.0/24']), pool('b', ['10.0.0.0/28'])]);
    assert.deepEqual(allocator.assign(request('default/x')), first);
    assert.deepEqual(allocator.assign(request('default/y', { requested: ['10.0.0.7'] })), second);
    failure(allocator.assign(request('default/z')), AllocReason.OverlappingPools);
  });

  it('re-validates holdings after setPools: a removed pool means a new address', () => {
    const allocator = new AddressAllocator([pool('old', ['10.0.0.0/24'])]);
    allocator.assign(request('default/x'));
    allocator.setPools([pool('new', ['10.5.0.0/24'])]);
    assert.deepEqual(allocator.assign(request('default/x', { current: ['10.0.0.0'] })), {
      ok: true,
      ip: '10.5.0.0',
      pool: 'new',
    });
  });

  it('re-attributes holdings to a renamed pool', () => {
    const allocator = new AddressAllocator([pool('old', ['10.0.0.0/24'])]);
    allocator.assign(request('default/x'));
    allocator.setPools([pool('renamed', ['10.0.0.0/24'])]);
    assert.equal(allocator.allocationOf('default/x')!.pool, 'renamed');
    assert.deepEqual(allocator.usage(), [{ pool: 'renamed', total: 256n, used: 1 }]);
  });

  it('rejects duplicate pool names', () => {
    assert.throws(() => new AddressAllocator([pool('a', ['10.0.0.0/30']), pool('a', ['10.0.1.0/30'])]), /duplicate/);
  });
});

describe('AddressAllocator: restore', () => {
  it('records addresses from Service statuses so they are not handed out again', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/30'])]);
    assert.deepEqual(allocator.restore('default/a', '10.0.0.0', { sharingKey: null, ports: HTTP }), {
      ok: true,
      ip: '10.0.0.0',
      pool: 'lan',
    });
    assert.equal(ipOf(allocator.assign(request('default/b'))), '10.0.0.1');
    assert.equal(ipOf(allocator.assign(request('default/a', { current: ['10.0.0.0'] }))), '10.0.0.0');
  });

  it('restores shared addresses when keys match and ports fit', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/30'])]);
    assert.ok(allocator.restore('default/udp', '10.0.0.1', { sharingKey: 'dns', ports: [DNS[0]!] }).ok);
    assert.ok(allocator.restore('default/tcp', '10.0.0.1', { sharingKey: 'dns', ports: [DNS[1]!] }).ok);
    assert.equal(allocator.usage()[0]!.used, 1);
  });

  it('refuses a double allocation: AddressInUse and PortCollision', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/30'])]);
    allocator.restore('default/a', '10.0.0.1', { sharingKey: 'k', ports: HTTP });
    failure(allocator.restore('default/b', '10.0.0.1', { sharingKey: null, ports: DNS }), AllocReason.AddressInUse);
    failure(allocator.restore('default/c', '10.0.0.1', { sharingKey: 'k', ports: HTTP }), AllocReason.PortCollision);
    assert.equal(allocator.allocationOf('default/b'), null);
    assert.equal(allocator.allocationOf('default/c'), null);
  });

  it('refuses addresses outside every pool and non-addresses', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/30'])]);
    failure(
      allocator.restore('default/a', '192.168.0.1', { sharingKey: null, ports: HTTP }),
      AllocReason.AddressNotInPool,
    );
    failure(
      allocator.restore('default/a', 'lb.example.com', { sharingKey: null, ports: HTTP }),
      AllocReason.InvalidAddress,
    );
  });

  it('is idempotent for the same key and address', () => {
    const allocator = new AddressAllocator([pool('lan', ['fd00::/126'])]);
    assert.ok(allocator.restore('default/a', 'fd00::2', { sharingKey: null, ports: HTTP }).ok);
    assert.ok(allocator.restore('default/a', 'FD00::0002', { sharingKey: null, ports: HTTP }).ok);
    assert.equal(allocator.allocationOf('default/a', 'IPv6')!.ip, 'fd00::2');
    assert.equal(allocator.usage()[0]!.used, 1);
  });
});

describe('AllocReason', () => {
  it('every reason is a CamelCase Event reason equal to its name', () => {
    for (const [name, value] of Object.entries(AllocReason)) {
      assert.equal(value, name);
      assert.match(value, /^[A-Z][A-Za-z]+$/);
    }
  });
});

describe('AddressAllocator: the lowest free address, at scale', () => {
  it('after releases the lowest free address is handed out again, then the search resumes above the rest', () => {
    const a = new AddressAllocator([pool('p', ['10.0.0.0/24'])]);
    const ips = Array.from({ length: 6 }, (_, i) => ipOf(a.assign(request(`ns/s${i}`))));
    assert.deepEqual(ips, ['10.0.0.0', '10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5']);
    a.release('ns/s1');
    a.release('ns/s4');
    assert.equal(ipOf(a.assign(request('ns/t1'))), '10.0.0.1');
    assert.equal(ipOf(a.assign(request('ns/t2'))), '10.0.0.4');
    assert.equal(ipOf(a.assign(request('ns/t3'))), '10.0.0.6');
  });

  it('an address restored below the search point is never handed out twice', () => {
    const a = new AddressAllocator([pool('p', ['10.0.0.0/24'])]);
    ipOf(a.assign(request('ns/a')));
    a.release('ns/a');
    assert.ok(a.restore('ns/old', '10.0.0.0', { sharingKey: null, ports: HTTP }).ok);
    assert.equal(ipOf(a.assign(request('ns/b'))), '10.0.0.1');
  });

  it('20,000 allocations from a /16 hand out consecutive addresses (each search starts where the last one ended)', () => {
    const a = new AddressAllocator([pool('p', ['100.64.0.0/16'])]);
    for (let i = 0; i < 20_000; i++) ipOf(a.assign(request(`ns/s${i}`)));
    const usage = a.usage().find((u) => u.pool === 'p');
    assert.equal(usage?.used, 20_000);
    assert.equal(ipOf(a.assign(request('ns/last'))), '100.64.78.32');
  });
});

describe('AddressAllocator: usage as addresses come and go', () => {
  it('counts an address once per pool containing it, through shares, releases and pool changes', () => {
    const allocator = new AddressAllocator([pool('a', ['10.0.0.0/30'])]);
    const used = () => Object.fromEntries(allocator.usage().map((u) => [u.pool, u.used]));
    assert.equal(ipOf(allocator.assign(request('default/x', { sharingKey: 'k' }))), '10.0.0.0');
    assert.equal(ipOf(allocator.assign(request('default/y', { sharingKey: 'k', ports: DNS }))), '10.0.0.0');
    assert.equal(ipOf(allocator.assign(request('default/z'))), '10.0.0.1');
    assert.deepEqual(used(), { a: 2 }, 'a shared address counts once');

    // A second pool over the same addresses (an overlap): both count the addresses inside them.
    allocator.setPools([pool('a', ['10.0.0.0/30']), pool('b', ['10.0.0.1/32', '10.0.1.0/30'])]);
    assert.deepEqual(used(), { a: 2, b: 1 });

    assert.equal(allocator.release('default/x'), true);
    assert.deepEqual(used(), { a: 2, b: 1 }, 'still held by default/y');
    allocator.release('default/y');
    assert.deepEqual(used(), { a: 1, b: 1 });
    allocator.release('default/z');
    assert.deepEqual(used(), { a: 0, b: 0 });

    // Pools replaced while an address is held: the new pool counts it, the old one is gone.
    allocator.setPools([pool('a', ['10.0.0.0/30'])]);
    assert.equal(ipOf(allocator.assign(request('default/w'))), '10.0.0.0');
    allocator.setPools([pool('c', ['10.0.0.0/29'])]);
    assert.deepEqual(used(), { c: 1 });
  });
});

describe('AddressAllocator: preview (what plan shows)', () => {
  it('answers exactly as assign() would, and holds nothing', () => {
    const allocator = new AddressAllocator([pool('lan', ['10.0.0.0/30'])]);
    const outside = allocator.preview(request('default/a', { requested: ['10.9.9.9'] }));
    assert.match(failure(outside, AllocReason.AddressNotInPool), /10\.9\.9\.9/);
    failure(allocator.preview(request('default/a', { pool: 'nope' })), AllocReason.UnknownPool);
    assert.equal(ipOf(allocator.preview(request('default/a'))), '10.0.0.0');
    assert.equal(ipOf(allocator.preview(request('default/b'))), '10.0.0.0', 'the first preview held nothing');
    assert.equal(allocator.allocationOf('default/a'), null);
    assert.equal(allocator.usage()[0]!.used, 0);
    assert.equal(ipOf(allocator.assign(request('default/a'))), '10.0.0.0');
    assert.equal(ipOf(allocator.preview(request('default/b'))), '10.0.0.1');
  });
});

describe('AddressAllocator: who holds an address, in words', () => {
  it('names the Service holding it, and what a holder key stands for when the provider says so', () => {
    const plain = new AddressAllocator([pool('lan', ['10.0.0.0/30'])]);
    ipOf(plain.assign(request('demo/a', { requested: ['10.0.0.1'] })));
    const taken = plain.assign(request('demo/b', { requested: ['10.0.0.1'] }));
    assert.match(failure(taken, AllocReason.AddressInUse), /^10\.0\.0\.1 is in use by Service demo\/a: /);

    const described = new AddressAllocator([pool('lan', ['10.0.0.0/30'])], {
      describeHolder: (key) => (key.startsWith('x:') ? 'another load balancer' : `Service ${key}`),
    });
    assert.ok(described.restore('x:demo/mlb', '10.0.0.2', { sharingKey: null, ports: [] }).ok);
    const foreign = described.assign(request('demo/b', { requested: ['10.0.0.2'] }));
    const message = failure(foreign, AllocReason.AddressInUse);
    assert.match(message, /^10\.0\.0\.2 is in use by another load balancer: /);
    assert.doesNotMatch(message, /x:/);
  });
});
