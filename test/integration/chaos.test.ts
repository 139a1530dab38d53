// The chaos suite in small (`npm run chaos` is the full one): the controller SIGKILLed twice during a burst and
// started again, a fake cloud failing 20% of its calls, and the gcp provider with the GCE fake behind the fault
// proxy (aws-faults needs moto and more time than the suite gives it; test/integration/aws-faults.test.ts covers
// the aws provider's faults); each once, each judged from the outside: every surviving Service served, every
// deleted one gone, nothing orphaned, leaked or handed out twice (for gcp: nothing left in the cloud).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { seeded } from '../../providers/fake/random.ts';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { runScenario, SCENARIOS, type Summary } from '../chaos/scenarios.ts';
import type { ChaosEnv } from '../chaos/world.ts';
import { type ControlPlane, startControlPlane } from '../env/controlplane.ts';

let cp: ControlPlane | undefined;
let env: ChaosEnv | undefined;

before(async () => {
  cp = await startControlPlane();
  await installAddressPoolCrd(cp.kubeConfig);
  await createPool(cp.kubeConfig, 'chaos', ['100.64.0.0/16']);
  env = {
    cp,
    kubeConfig: cp.kubeConfig,
    core: cp.kubeConfig.makeApiClient(CoreV1Api),
    quick: true,
    random: seeded(7),
    log: () => {},
  };
});
after(async () => {
  for (const s of SCENARIOS) await s.teardown?.();
  await cp?.stop();
});

/** The scenario, shrunk to `n` Services, once. */
async function once(name: string, n: number): Promise<Summary> {
  const scenario = SCENARIOS.find((s) => s.name === name);
  assert.ok(scenario && env, `scenario ${name}`);
  return runScenario(env, { ...scenario, size: () => n }, 1, 'it');
}

function assertClean(s: Summary): void {
  assert.equal(s.runs, 1);
  assert.equal(s.converged, 1, 'every surviving Service served and every deleted one gone');
  assert.equal(s.orphans, 0, 'orphans');
  assert.equal(s.leaked, 0, 'leaked addresses');
  assert.equal(s.duplicates, 0, 'duplicate addresses');
}

test('controller SIGKILLed twice mid-burst and restarted: converges, no orphan, leak or duplicate', async () => {
  assertClean(await once('controller-sigkill', 60));
});

test('fake provider failing 20% of calls with 5xx: converges, no orphan, leak or duplicate', async () => {
  assertClean(await once('fake-5xx', 40));
});

test('gcp provider behind a faulty endpoint (5xx, throttling storm, hangs): converges, nothing left in the cloud', async () => {
  assertClean(await once('gcp-faults', 10));
});
