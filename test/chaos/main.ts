// `npm run chaos [-- --quick] [--runs <k>] [--only <regex>] [--seed <n>] [--logs <dir>]`: every chaos scenario against one real
// test control plane, each repeated `runs` times (5, or 2 with --quick; --quick also shrinks the bursts and the
// etcd outage). Progress goes to stderr; one line per scenario comes last on stdout. Exits 1 unless every run of
// every scenario converged with no orphan, leak, duplicate or out-of-turn write. --logs keeps each controller
// replica's output (`<dir>/<identity>.log`) for diagnosis.
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { seeded } from '../../providers/fake/random.ts';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { startControlPlane } from '../env/controlplane.ts';
import { clean, formatSummary, runScenario, SCENARIOS, type Summary } from './scenarios.ts';
import type { ChaosEnv } from './world.ts';

/** Never routed (RFC 6598); large enough for any burst. */
export const CHAOS_POOL = '100.64.0.0/16';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    runs: { type: 'string' },
    only: { type: 'string' },
    seed: { type: 'string', default: '1' },
    logs: { type: 'string' },
  },
});

const log = (message: string) => process.stderr.write(`chaos: ${message}\n`);

async function main(): Promise<boolean> {
  const started = performance.now();
  const quick = values.quick;
  const runs = values.runs ? Number(values.runs) : quick ? 2 : 5;
  const only = values.only ? new RegExp(values.only) : undefined;
  const selected = SCENARIOS.filter((s) => !only || only.test(s.name));
  log(
    `nproc=${cpus().length} node=${process.version}; ${selected.length} scenarios x ${runs} runs${quick ? ' (quick)' : ''}`,
  );
  const cp = await startControlPlane();
  const summaries: Summary[] = [];
  try {
    await installAddressPoolCrd(cp.kubeConfig);
    await createPool(cp.kubeConfig, 'chaos', [CHAOS_POOL]);
    const env: ChaosEnv = {
      cp,
      kubeConfig: cp.kubeConfig,
      core: cp.kubeConfig.makeApiClient(CoreV1Api),
      quick,
      random: seeded(Number(values.seed)),
      log,
      logDir: values.logs,
    };
    for (const scenario of selected) {
      try {
        const summary = await runScenario(env, scenario, runs);
        summaries.push(summary);
        log(formatSummary(summary));
      } finally {
        await scenario.teardown?.();
      }
    }
  } finally {
    await cp.stop();
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (const s of summaries) process.stdout.write(`${formatSummary(s)}\n`);
  return summaries.every(clean);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
