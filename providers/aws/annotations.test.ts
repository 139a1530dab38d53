import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { V1Service } from '@kubernetes/client-node';
import { PREFIX, readAnnotations } from './annotations.ts';
import { AwsConfigSchema } from './index.ts';

const svc = (annotations: Record<string, string>): V1Service => ({ metadata: { name: 's', annotations } });

describe('aws annotations and config', () => {
  test('scheme, subnets, tags and health-check overrides are read into typed options', () => {
    const { options, problems } = readAnnotations(
      svc({
        [`${PREFIX}internal`]: 'true',
        [`${PREFIX}subnets`]: 'subnet-1, public-b',
        [`${PREFIX}additional-resource-tags`]: 'team=net,env=dev',
        [`${PREFIX}healthcheck-port`]: 'traffic-port',
        [`${PREFIX}healthcheck-interval`]: '10',
      }),
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(options, {
      scheme: 'internal',
      subnets: ['subnet-1', 'public-b'],
      extraTags: { team: 'net', env: 'dev' },
      healthCheck: { port: 'traffic-port', intervalSeconds: 10 },
      crossZone: false,
      targetNodeLabels: {},
      eipAllocations: null,
      tls: null,
      proxyProtocol: false,
      targetGroupAttributes: {},
      loadBalancerAttributes: { 'load_balancing.cross_zone.enabled': 'false' },
      ipAddressType: 'ipv4',
    });
  });

  test('cross-zone, target-node-labels and eip-allocations are read with in-tree semantics', () => {
    const { options, problems } = readAnnotations(
      svc({
        [`${PREFIX}cross-zone-load-balancing-enabled`]: 'true',
        [`${PREFIX}target-node-labels`]: 'pool=edge, gpu=, spot',
        [`${PREFIX}subnets`]: 'subnet-1,subnet-2',
        [`${PREFIX}eip-allocations`]: 'eipalloc-0a1, eipalloc-0b2',
      }),
    );
    assert.deepEqual(problems, []);
    assert.equal(options.crossZone, true);
    assert.deepEqual(options.targetNodeLabels, { pool: 'edge', gpu: '', spot: '' });
    assert.deepEqual(options.eipAllocations, ['eipalloc-0a1', 'eipalloc-0b2']);
  });

  test('eip-allocations must match the annotated subnets one to one, be ids, and need internet-facing', () => {
    const problemOf = (a: Record<string, string>) =>
      readAnnotations(svc(a)).problems.map((p) => `${p.reason}: ${p.message}`);
    assert.deepEqual(
      problemOf({ [`${PREFIX}subnets`]: 'subnet-1,subnet-2', [`${PREFIX}eip-allocations`]: 'eipalloc-1' }),
      [
        `InvalidAwsAnnotation: ${PREFIX}eip-allocations: lists 1 allocation(s) for 2 subnet(s) in ${PREFIX}subnets; there must be exactly one per subnet`,
      ],
    );
    assert.match(
      problemOf({ [`${PREFIX}eip-allocations`]: '1.2.3.4' })[0]!,
      /not Elastic IP allocation ids: 1\.2\.3\.4/,
    );
    assert.match(
      problemOf({ [`${PREFIX}internal`]: 'true', [`${PREFIX}eip-allocations`]: 'eipalloc-1' })[0]!,
      /need an internet-facing NLB/,
    );
    assert.match(problemOf({ [`${PREFIX}cross-zone-load-balancing-enabled`]: 'yes' })[0]!, /must be "true" or "false"/);
  });

  test('an unsupported aws-load-balancer-* annotation is a problem that names it; bad values name theirs', () => {
    const { problems } = readAnnotations(
      svc({
        [`${PREFIX}backend-protocol`]: 'ssl',
        [`${PREFIX}scheme`]: 'public',
        [`${PREFIX}healthcheck-timeout`]: '1',
      }),
    );
    assert.deepEqual(
      problems.map((p) => [p.reason, p.path]),
      [
        ['UnsupportedAwsAnnotation', `metadata.annotations['${PREFIX}backend-protocol']`],
        ['InvalidAwsAnnotation', `metadata.annotations['${PREFIX}scheme']`],
        ['InvalidAwsAnnotation', `metadata.annotations['${PREFIX}healthcheck-timeout']`],
      ],
    );
    assert.match(problems[0]!.message, /backend-protocol is not supported/);
  });

  test('region is required with a one-line message; unknown config fields are refused', () => {
    const missing = AwsConfigSchema.safeParse({});
    assert.ok(!missing.success);
    assert.equal(missing.error.issues[0]?.message, 'region is required: the AWS region of the cluster, e.g. us-east-1');
    assert.ok(!AwsConfigSchema.safeParse({ region: 'us-east-1', secretKey: 'x' }).success);
  });
});
