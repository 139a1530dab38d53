import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  countBuggyAddresses,
  countSubnetRouterAnycast,
  formatAddress,
  formatCidr,
  isBuggyAddress,
  isSubnetRouterAnycast,
  parseAddress,
  parseAddressEntry,
  rangeSize,
} from './addresses.ts';

describe('addresses', () => {
  it('parses only the usual written forms', () => {
    assert.deepEqual(parseAddress('10.0.0.1'), { family: 'IPv4', value: 0x0a000001n });
    assert.deepEqual(parseAddress('::1'), { family: 'IPv6', value: 1n });
    for (const text of ['10.1', '010.0.0.1', '0x0a.0.0.1', '10.0.0.256', 'fe80::1%eth0', '', ' 10.0.0.1']) {
      assert.equal(parseAddress(text), null, text);
    }
  });

  it('formats canonically, so equal addresses are equal strings', () => {
    assert.equal(formatAddress('IPv6', parseAddress('FD00:0000::0001')!.value), 'fd00::1');
    assert.equal(formatAddress('IPv4', 0xc0a80affn), '192.168.10.255');
    assert.equal(formatAddress('IPv6', (1n << 128n) - 1n), 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff');
  });

  it('sizes CIDRs of both families without enumerating them', () => {
    const v4 = parseAddressEntry('10.0.0.0/16');
    const v6 = parseAddressEntry('fd00::/64');
    assert.ok(v4.ok && v6.ok);
    assert.equal(rangeSize(v4.range), 65536n);
    assert.equal(rangeSize(v6.range), 1n << 64n);
  });

  it('treats IPv4 .0 and .255 as buggy, and no IPv6 address', () => {
    assert.equal(isBuggyAddress(parseAddress('10.0.1.0')!), true);
    assert.equal(isBuggyAddress(parseAddress('10.0.1.255')!), true);
    assert.equal(isBuggyAddress(parseAddress('10.0.1.1')!), false);
    assert.equal(isBuggyAddress(parseAddress('fd00::')!), false);
    assert.equal(isBuggyAddress(parseAddress('fd00::ff')!), false);
  });

  it('counts buggy addresses arithmetically', () => {
    const count = (entry: string) => {
      const parsed = parseAddressEntry(entry);
      assert.ok(parsed.ok);
      return countBuggyAddresses(parsed.range);
    };
    assert.equal(count('10.0.0.0/24'), 2n);
    assert.equal(count('10.0.0.0/16'), 512n);
    assert.equal(count('10.0.0.1-10.0.0.254'), 0n);
    assert.equal(count('10.0.0.255-10.0.1.0'), 2n);
    assert.equal(count('0.0.0.0/32'), 1n);
    assert.equal(count('fd00::/120'), 0n);
  });

  it('knows the subnet-router anycast address of IPv6 CIDRs shorter than /127, and of nothing else', () => {
    const range = (entry: string) => {
      const parsed = parseAddressEntry(entry);
      assert.ok(parsed.ok, entry);
      return parsed.range;
    };
    const anycast = (entry: string, address: string) => isSubnetRouterAnycast(range(entry), parseAddress(address)!);
    assert.equal(anycast('fd00:10::/64', 'fd00:10::'), true);
    assert.equal(anycast('fd00:10::/64', 'fd00:10::1'), false);
    assert.equal(anycast('fd00:10::100/120', 'fd00:10::100'), true);
    assert.equal(anycast('fd00::/126', 'fd00::'), true);
    assert.equal(anycast('fd00::/127', 'fd00::'), false);
    assert.equal(anycast('fd00::/128', 'fd00::'), false);
    assert.equal(anycast('fd00::-fd00::ff', 'fd00::'), false);
    assert.equal(anycast('10.0.0.0/24', '10.0.0.0'), false);
    assert.deepEqual(
      ['fd00::/64', 'fd00::/126', 'fd00::/127', 'fd00::/128', 'fd00::-fd00::ff', '10.0.0.0/24'].map((entry) =>
        countSubnetRouterAnycast(range(entry)),
      ),
      [1n, 1n, 0n, 0n, 0n, 0n],
    );
    assert.equal(formatCidr(range('FD00:10:0::/64')), 'fd00:10::/64');
  });
});
