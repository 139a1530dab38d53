import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RetryableError, ThrottledError } from '../../src/contract/provider.ts';
import { translate } from './clients.ts';

const awsError = (name: string, httpStatusCode: number) =>
  Object.assign(new Error('m'), { name, $metadata: { httpStatusCode } });

test('throttling codes become ThrottledError, 5xx RetryableError, 501 and 4xx stay as they are', () => {
  assert.ok(translate(awsError('Throttling', 400), 'X') instanceof ThrottledError);
  assert.ok(translate(awsError('RequestLimitExceeded', 503), 'X') instanceof ThrottledError);
  assert.ok(translate(awsError('InternalFailure', 500), 'X') instanceof RetryableError);
  // 501: the endpoint does not implement the API (LocalStack community for ELBv2): retrying cannot help.
  const notImplemented = awsError('InternalFailure', 501);
  assert.equal(translate(notImplemented, 'X'), notImplemented);
  const invalid = awsError('ValidationError', 400);
  assert.equal(translate(invalid, 'X'), invalid);
});
