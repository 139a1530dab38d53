import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { checkGcpService, REFUSED_ANNOTATIONS } from './annotations.ts';

const service = (annotations: Record<string, string>, protocol = 'TCP'): V1Service => ({
  metadata: { name: 'web', namespace: 'default', annotations },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol }] },
});
const reasons = (annotations: Record<string, string>) =>
  checkGcpService(service(annotations)).problems.map((p) => p.reason);

test('Internal (either key, either casing) asks for an internal backend-service load balancer', () => {
  for (const key of ['networking.gke.io/load-balancer-type', 'cloud.google.com/load-balancer-type']) {
    for (const value of ['Internal', 'internal']) {
      const check = checkGcpService(service({ [key]: value }));
      assert.deepEqual(check.problems, [], `${key}=${value}`);
      assert.deepEqual(check.options, { scheme: 'INTERNAL', backendService: true });
    }
  }
});

test('internal options: subnet and global access; refused on an external load balancer', () => {
  const internal = { 'networking.gke.io/load-balancer-type': 'Internal' };
  const check = checkGcpService(
    service({
      ...internal,
      'networking.gke.io/internal-load-balancer-subnet': 'private',
      'networking.gke.io/internal-load-balancer-allow-global-access': 'true',
    }),
  );
  assert.deepEqual(check.options, { scheme: 'INTERNAL', backendService: true, subnet: 'private', globalAccess: true });
  assert.deepEqual(reasons({ 'networking.gke.io/internal-load-balancer-subnet': 'private' }), [
    'InvalidSubnetAnnotation',
  ]);
  assert.deepEqual(reasons({ ...internal, 'cloud.google.com/network-tier': 'Standard' }), ['InvalidNetworkTier']);
});

test('l4-rbs enables mixed protocols; unimplemented upstream annotations are refused by name', () => {
  const mixed: V1Service = {
    metadata: { name: 'web', annotations: { 'cloud.google.com/l4-rbs': 'enabled' } },
    spec: {
      ports: [
        { port: 53, protocol: 'TCP' },
        { port: 53, protocol: 'UDP' },
      ],
    },
  };
  assert.deepEqual(checkGcpService(mixed).problems, []);
  assert.deepEqual(checkGcpService(mixed).options, { scheme: 'EXTERNAL', backendService: true });
  delete mixed.metadata!.annotations!['cloud.google.com/l4-rbs'];
  assert.deepEqual(
    checkGcpService(mixed).problems.map((p) => p.reason),
    ['MixedProtocolNotSupported'],
  );
  const refused = checkGcpService(service({ 'networking.gke.io/weighted-load-balancing': 'pods-per-node' }));
  assert.deepEqual(
    refused.problems.map((p) => [p.reason, p.path]),
    [['UnsupportedGcpAnnotation', "metadata.annotations['networking.gke.io/weighted-load-balancing']"]],
  );
});

test('External, or no type annotation, is the external load balancer the provider builds', () => {
  assert.deepEqual(reasons({ 'networking.gke.io/load-balancer-type': 'External' }), []);
  assert.deepEqual(reasons({}), []);
});

test('network tier annotation and mixed protocols still checked alongside', () => {
  assert.deepEqual(reasons({ 'cloud.google.com/network-tier': 'Gold' }), ['InvalidNetworkTier']);
  assert.deepEqual(
    checkGcpService(service({}, 'SCTP')).problems.map((p) => p.reason),
    ['ProtocolNotSupported'],
  );
});

test('every upstream annotation the provider does not implement is refused by name, whatever its value', () => {
  for (const key of REFUSED_ANNOTATIONS) {
    const check = checkGcpService(service({ [key]: 'enabled' }));
    assert.deepEqual(
      check.problems.map((p) => [p.reason, p.path]),
      [['UnsupportedGcpAnnotation', `metadata.annotations['${key}']`]],
      key,
    );
  }
});

test('backend sharing (either key) is accepted and changes nothing: each Service has its own backend service', () => {
  for (const key of [
    'alpha.cloud.google.com/load-balancer-backend-share',
    'cloud.google.com/load-balancer-backend-share',
  ]) {
    const check = checkGcpService(service({ 'networking.gke.io/load-balancer-type': 'Internal', [key]: 'true' }));
    assert.deepEqual([check.problems, check.options], [[], { scheme: 'INTERNAL', backendService: true }], key);
  }
});
