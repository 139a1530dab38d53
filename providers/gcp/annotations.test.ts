import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { checkGcpService } from './annotations.ts';

const service = (annotations: Record<string, string>, protocol = 'TCP'): V1Service => ({
  metadata: { name: 'web', namespace: 'default', annotations },
  spec: { type: 'LoadBalancer', ports: [{ port: 80, protocol }] },
});
const reasons = (annotations: Record<string, string>) =>
  checkGcpService(service(annotations)).problems.map((p) => p.reason);

test('an internal load balancer request is refused, never built as an external one', () => {
  for (const key of ['networking.gke.io/load-balancer-type', 'cloud.google.com/load-balancer-type']) {
    for (const value of ['Internal', 'internal']) {
      const check = checkGcpService(service({ [key]: value }));
      assert.deepEqual(
        check.problems.map((p) => [p.reason, p.path]),
        [['InternalLoadBalancerNotSupported', `metadata.annotations['${key}']`]],
        `${key}=${value}`,
      );
      assert.match(check.problems[0]!.message, /external target-pool load balancers only/);
    }
  }
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
