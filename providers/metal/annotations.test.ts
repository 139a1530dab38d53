import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { checkMetalService } from './annotations.ts';

function service(annotations: Record<string, string>): V1Service {
  return { metadata: { namespace: 'demo', name: 'web', annotations }, spec: { type: 'LoadBalancer' } };
}

test("MetalLB's request annotations are refused, each naming the drawbridge.io key that replaces it", () => {
  const replacements = {
    'metallb.universe.tf/loadBalancerIPs': 'drawbridge.io/load-balancer-ips',
    'metallb.universe.tf/address-pool': 'drawbridge.io/address-pool',
    'metallb.universe.tf/allow-shared-ip': 'drawbridge.io/allow-shared-ip',
    'metallb.io/loadBalancerIPs': 'drawbridge.io/load-balancer-ips',
  };
  for (const [key, replacement] of Object.entries(replacements)) {
    const { problems } = checkMetalService(service({ [key]: 'x' }));
    assert.equal(problems.length, 1, key);
    assert.equal(problems[0]!.reason, 'UnsupportedAnnotation');
    assert.equal(problems[0]!.path, `metadata.annotations[${JSON.stringify(key)}]`);
    assert.ok(problems[0]!.message.includes(`use ${replacement}`), problems[0]!.message);
  }
});

test("MetalLB's own record (ip-allocated-from-pool) blocks nothing but is listed for a Warning", () => {
  const { problems, options } = checkMetalService(
    service({ 'metallb.universe.tf/ip-allocated-from-pool': 'lab', 'drawbridge.io/address-pool': 'lab' }),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(options.ignored, ['metallb.universe.tf/ip-allocated-from-pool']);
  assert.equal(options.pool, 'lab');
});

test('a misspelt drawbridge.io/ key is refused, naming the key and the known ones', () => {
  const { problems } = checkMetalService(service({ 'drawbridge.io/adress-pool': 'lab' }));
  assert.equal(problems.length, 1);
  assert.equal(problems[0]!.reason, 'UnknownAnnotation');
  assert.match(problems[0]!.message, /^drawbridge\.io\/adress-pool is not an annotation Drawbridge reads/);
  assert.match(problems[0]!.message, /drawbridge\.io\/address-pool/);
});

test("Drawbridge's own annotations, those it writes, and other tools' pass without a word", () => {
  const { problems, options } = checkMetalService(
    service({
      'drawbridge.io/address-pool': 'lab',
      'drawbridge.io/allow-shared-ip': 'k',
      'drawbridge.io/load-balancer-ips': '10.0.0.1',
      'drawbridge.io/owner-class': 'drawbridge.io/metal',
      'drawbridge.io/announcing-node': 'node-a',
      'drawbridge.io/release-load-balancer': 'true',
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      'service.beta.kubernetes.io/load-balancer-source-ranges': '10.0.0.0/8',
    }),
  );
  assert.deepEqual(problems, []);
  assert.deepEqual(options.ignored, []);
});
