import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ProviderError, type RetryAfterError, ThrottledError } from '../../src/contract/provider.ts';
import { testContext } from '../../test/conformance/context.ts';
import { baseSpec, providerConformance } from '../../test/conformance/suite.ts';
import { FakeConfigSchema, fake } from './index.ts';
import type { FakeProvider } from './provider.ts';

async function newFake(config: Record<string, unknown> = {}): Promise<FakeProvider> {
  return (await fake.create(testContext('fake').context, FakeConfigSchema.parse(config))) as FakeProvider;
}
const live = () => ({ signal: new AbortController().signal });

// One instance for the suite, already holding 198.18.0.1 for another Service (what invalidSpec asks for).
const shared = await newFake();
await shared.ensure({ ...baseSpec(0), requestedAddresses: ['198.18.0.1'] }, live());
providerConformance('fake', {
  provider: () => shared,
  spec: (n) => baseSpec(n),
  invalidSpec: () => {
    // The fake refuses an address another Service holds, as a cloud refuses a reserved address in use.
    return { ...baseSpec(501), requestedAddresses: ['198.18.0.1'] };
  },
  resources: async () => shared.loadBalancers().map((lb) => `${lb.identity.uid}:${lb.addresses.join(',')}`),
});

describe('fake provider', () => {
  test('every call takes the configured latency and is logged', async () => {
    const p = await newFake({ latencyMs: 30 });
    const started = performance.now();
    await p.ensure(baseSpec(1), live());
    assert.ok(performance.now() - started >= 25, 'the call waited for its latency');
    assert.deepEqual(p.calls, [{ operation: 'ensure', key: 'conf/svc-1', result: 'ok', changed: true }]);
  });

  test('faults: typed errors per call kind, limited by times, then calls succeed again', async () => {
    const p = await newFake({ faults: [{ operation: 'ensure', kind: 'throttled', times: 2 }] });
    await assert.rejects(p.ensure(baseSpec(1), live()), ThrottledError);
    await assert.rejects(p.ensure(baseSpec(1), live()), ThrottledError);
    assert.equal((await p.ensure(baseSpec(1), live())).changed, true);
    p.inject({ operation: '*', kind: 'retryAfter', retryAfterSeconds: 7 });
    await assert.rejects(
      p.ensureDeleted(baseSpec(1).identity, live()),
      (e) => (e as RetryAfterError).retryAfterSeconds === 7,
    );
    p.clearFaults();
    p.inject({ operation: 'ensure', kind: 'terminal' });
    await assert.rejects(
      p.ensure(baseSpec(2), live()),
      (e) => e instanceof ProviderError && e.disposition === 'terminal',
    );
    assert.deepEqual(
      p.calls.map((c) => c.result),
      ['FakeThrottled', 'FakeThrottled', 'ok', 'FakeNotReady', 'FakeRejected'],
    );
    assert.equal(p.loadBalancers().length, 1, 'failed calls created nothing');
  });

  test('a partial rate hits the same calls on every run (seeded)', async () => {
    const outcomes = async () => {
      const p = await newFake({ faults: [{ operation: 'get', kind: 'retryable', rate: 0.5 }] });
      const results: string[] = [];
      for (let i = 0; i < 40; i++)
        results.push(
          await p.get(baseSpec(i).identity, live()).then(
            () => 'ok',
            () => 'x',
          ),
        );
      return results.join('');
    };
    const first = await outcomes();
    assert.equal(await outcomes(), first);
    const failed = [...first].filter((c) => c === 'x').length;
    assert.ok(failed > 5 && failed < 35, `about half failed (${failed}/40)`);
  });

  test('hang waits until the signal aborts, then rejects with its reason and changes nothing', async () => {
    const p = await newFake({ faults: [{ operation: 'ensure', kind: 'hang' }] });
    const abort = new AbortController();
    const pending = p.ensure(baseSpec(1), { signal: abort.signal });
    setTimeout(() => abort.abort(new Error('leadership lost')), 20);
    await assert.rejects(pending, /leadership lost/);
    assert.equal(p.loadBalancers().length, 0);
    assert.equal(p.calls.at(-1)?.result, 'aborted');
  });

  test('Local traffic: backends are the nodes with ready endpoints', async () => {
    const p = await newFake();
    const spec = { ...baseSpec(1), externalTrafficPolicy: 'Local' as const, endpointNodes: ['node-b'] };
    await p.ensure(spec, live());
    assert.deepEqual((await p.get(spec.identity, live()))?.backends, ['node-b']);
  });

  test('a bad configuration names the field', () => {
    const result = FakeConfigSchema.safeParse({ latencyMs: -1, faults: [{ operation: 'ensure', kind: 'melt' }] });
    assert.ok(!result.success);
    assert.deepEqual(result.error.issues.map((i) => i.path.join('.')).sort(), ['faults.0.kind', 'latencyMs']);
  });
});
