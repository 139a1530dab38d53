import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TerminalError } from '../../src/contract/provider.ts';
import { baseSpec } from '../../test/conformance/suite.ts';
import type { MetalOptions } from './annotations.ts';
import { AddressAllocator } from './ipam/allocator.ts';
import { parsePool } from './model/schema.ts';
import { planAddresses } from './plan.ts';

const lan = parsePool({
  apiVersion: 'drawbridge.io/v1alpha1',
  kind: 'AddressPool',
  metadata: { name: 'lan' },
  spec: { addresses: ['10.0.0.0/30'] },
});

function spec(overrides: { requested?: string[]; pool?: string } = {}) {
  const options: MetalOptions = {
    pool: overrides.pool,
    sharingKey: null,
    trafficPolicy: 'Cluster',
    selectorKey: '',
    ignored: [],
  };
  return { ...baseSpec(1), requestedAddresses: overrides.requested ?? [], providerOptions: options };
}

function allocator(): AddressAllocator {
  if (!lan.ok) assert.fail(JSON.stringify(lan.problems));
  return new AddressAllocator([lan.pool]);
}

test('plan names the address ensure would hand out, and holds nothing', () => {
  const a = allocator();
  assert.deepEqual(planAddresses(a, 'conf/svc-1', spec()), [
    { action: 'create', resource: 'address', name: '10.0.0.0 (next free IPv4 address)' },
  ]);
  assert.deepEqual(a.usage(), [{ pool: 'lan', total: 4n, used: 0 }]);
});

test('plan refuses what ensure refuses: an address outside every pool, an unknown pool', () => {
  const a = allocator();
  assert.throws(
    () => planAddresses(a, 'conf/svc-1', spec({ requested: ['10.9.9.9'] })),
    (error: unknown) =>
      error instanceof TerminalError &&
      error.reason === 'AddressNotInPool' &&
      /^IPv4: 10\.9\.9\.9 /.test(error.message),
  );
  assert.throws(
    () => planAddresses(a, 'conf/svc-1', spec({ pool: 'nope' })),
    (error: unknown) =>
      error instanceof TerminalError && error.reason === 'UnknownPool' && /"nope"/.test(error.message),
  );
});

test('plan shows a move to a requested address, and nothing when the held one is kept', () => {
  const a = allocator();
  assert.ok(
    a.assign({
      key: 'conf/svc-1',
      namespace: 'conf',
      requested: [],
      current: [],
      sharingKey: null,
      ports: [],
      family: 'IPv4',
    }).ok,
  );
  assert.deepEqual(planAddresses(a, 'conf/svc-1', spec()), []);
  assert.deepEqual(planAddresses(a, 'conf/svc-1', spec({ requested: ['10.0.0.2'] })), [
    { action: 'update', resource: 'address', name: '10.0.0.2', detail: 'was 10.0.0.0' },
  ]);
});
