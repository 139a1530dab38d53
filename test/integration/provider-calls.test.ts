// What a Service costs in provider calls, against a real apiserver and the fake provider's call log: a burst costs
// one ensure per Service (the echoes of our own finalizer and status writes queue nothing), a status cleared by
// someone else comes back without waiting for a resync, and a hung provider call is abandoned at its deadline and
// retried instead of holding a worker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { FakeProvider } from '../../providers/fake/provider.ts';
import type { Controller } from '../../src/core/controller/controller.ts';
import { useControlPlane } from '../env/harness.ts';
import {
  createNamespace,
  createService,
  eventsFor,
  lbService,
  metricValue,
  startController,
  waitForEvent,
  waitForIngress,
  waitForSettled,
} from './support.ts';

const CLASS = 'provider-calls.test/fake';
let controller: Controller;
const cluster = useControlPlane({
  setup: async (c) => {
    // No resync: whatever is repaired here is repaired because of an event.
    controller = await startController(c.kubeConfig, {
      provider: 'fake',
      providerConfig: { latencyMs: 20 },
      loadBalancerClass: CLASS,
      resyncSeconds: 0,
      providerCallTimeoutSeconds: 1,
    });
  },
  teardown: async () => {
    await controller?.stop();
  },
});

const fakeOf = (c: Controller) => c.provider as FakeProvider;
const ensures = (key?: string) =>
  fakeOf(controller).calls.filter((c) => c.operation === 'ensure' && (!key || c.key === key));

test('a burst of 60 Services costs exactly one ensure and two Service writes per Service', async () => {
  const { core } = cluster;
  const ns = 'burst';
  await createNamespace(core, ns);
  const names = Array.from({ length: 60 }, (_, i) => `svc-${i}`);
  const writesBefore = await metricValue(controller, 'drawbridge_service_writes_total');
  await Promise.all(names.map((name) => createService(core, ns, lbService(name, { loadBalancerClass: CLASS }))));
  for (const name of names) await waitForIngress(core, ns, name);
  await waitForSettled(controller, core, ns);
  for (const name of names) {
    assert.deepEqual(
      ensures(`${ns}/${name}`).map((c) => [c.result, c.changed]),
      [['ok', true]],
      `${name}: one ensure, which created the load balancer`,
    );
  }
  assert.equal(ensures().filter((c) => c.key.startsWith(`${ns}/`)).length, names.length);
  assert.equal(
    (await metricValue(controller, 'drawbridge_service_writes_total')) - writesBefore,
    2 * names.length,
    'finalizer + status',
  );
});

test('a status.loadBalancer cleared by someone else is written back at once (no resync)', async () => {
  const { core } = cluster;
  const ns = 'drift';
  await createNamespace(core, ns);
  await createService(core, ns, lbService('drifty', { loadBalancerClass: CLASS }));
  const ip = await waitForIngress(core, ns, 'drifty');
  await waitForSettled(controller, core, ns);
  await core.patchNamespacedServiceStatus(
    { name: 'drifty', namespace: ns, body: { status: { loadBalancer: { ingress: null } } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
  assert.equal(await waitForIngress(core, ns, 'drifty'), ip, 'the same address comes back');
  await waitForSettled(controller, core, ns);
  assert.deepEqual(
    ensures(`${ns}/drifty`).map((c) => c.changed),
    [true, false],
    'one ensure to create, one (changing nothing) to repair the status; the repair write queues nothing',
  );
});

test('a hung provider call is abandoned at --provider-call-timeout and retried with backoff', async () => {
  const { core } = cluster;
  const ns = 'hang';
  await createNamespace(core, ns);
  const timeoutsBefore = await metricValue(controller, 'drawbridge_provider_call_timeouts_total');
  fakeOf(controller).inject({ operation: 'ensure', kind: 'hang', times: 1 });
  await createService(core, ns, lbService('stuck', { loadBalancerClass: CLASS }));
  await waitForIngress(core, ns, 'stuck');
  await waitForSettled(controller, core, ns);
  assert.deepEqual(
    ensures(`${ns}/stuck`).map((c) => c.result),
    ['ProviderCallTimeout', 'ok'],
    'the hung call saw its signal aborted; the retry served the Service',
  );
  assert.equal((await metricValue(controller, 'drawbridge_provider_call_timeouts_total')) - timeoutsBefore, 1);
  assert.equal(
    await metricValue(controller, 'drawbridge_provider_calls_total', {
      operation: 'ensure',
      result: 'ProviderCallTimeout',
    }),
    1,
  );
  const warning = await waitForEvent(core, ns, 'stuck', 'SyncLoadBalancerFailed');
  assert.match(warning.message ?? '', /did not answer within 1 s/);
  assert.ok((await eventsFor(core, ns, 'stuck')).some((e) => e.reason === 'EnsuredLoadBalancer'));
});
