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
    });
  });

  test('an unsupported aws-load-balancer-* annotation is a problem that names it; bad values name theirs', () => {
    const { problems } = readAnnotations(
      svc({ [`${PREFIX}ssl-cert`]: 'arn:x', [`${PREFIX}scheme`]: 'public', [`${PREFIX}healthcheck-timeout`]: '1' }),
    );
    assert.deepEqual(
      problems.map((p) => [p.reason, p.path]),
      [
        ['UnsupportedAwsAnnotation', `metadata.annotations['${PREFIX}ssl-cert']`],
        ['InvalidAwsAnnotation', `metadata.annotations['${PREFIX}scheme']`],
        ['InvalidAwsAnnotation', `metadata.annotations['${PREFIX}healthcheck-timeout']`],
      ],
    );
    assert.match(problems[0]!.message, /ssl-cert is not supported/);
  });

  test('region is required with a one-line message; unknown config fields are refused', () => {
    const missing = AwsConfigSchema.safeParse({});
    assert.ok(!missing.success);
    assert.equal(missing.error.issues[0]?.message, 'region is required: the AWS region of the cluster, e.g. us-east-1');
    assert.ok(!AwsConfigSchema.safeParse({ region: 'us-east-1', secretKey: 'x' }).success);
  });
});
