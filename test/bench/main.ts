// `npm run bench [-- --quick] [--only <regex>] [--memory] [--settle <s>] [--entry dist|src] [--node-arg <flag>]...`: every scenario against one real test
// control plane, the controller as a separate process per scenario. Progress goes to stderr; the result lines come
// last on stdout, one per scenario, and the burst chart is written to docs/bench-burst.svg.
import { writeFile } from 'node:fs/promises';
import { cpus, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import { CoreV1Api } from '@kubernetes/client-node';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { startControlPlane } from '../env/controlplane.ts';
import { burstChart } from './chart.ts';
import { shareConnections } from './connection.ts';
import { parseEntry, prepareEntry } from './entry.ts';
import { formatResult, type Result } from './result.ts';
import { type Scenario, scenarios } from './scenarios.ts';
import type { BenchEnv } from './session.ts';

/** Large enough for the biggest burst with room to spare: 65,536 addresses, never routed (RFC 6598). */
const METAL_POOL = '100.64.0.0/16';
const CHART = new URL('../../docs/bench-burst.svg', import.meta.url);

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    only: { type: 'string' },
    memory: { type: 'boolean', default: false },
    settle: { type: 'string' },
    'heapsnapshot-signal': { type: 'boolean', default: false },
    /** Extra Node flag for the controller process, repeatable (experiments: --node-arg=--import=./patch.mjs). */
    'node-arg': { type: 'string', multiple: true, default: [] },
    'no-chart': { type: 'boolean', default: false },
    /** dist (default): the compiled controller the image runs, built first; src: the TypeScript sources. */
    entry: { type: 'string' },
  },
});

const log = (message: string) => process.stderr.write(`bench: ${message}\n`);

async function main(): Promise<void> {
  const started = performance.now();
  const only = values.only ? new RegExp(values.only) : undefined;
  const entry = parseEntry(values.entry);
  prepareEntry(entry, log);
  const selected = scenarios(values.quick).filter((s: Scenario) => !only || only.test(s.label));
  log(
    `machine: nproc=${cpus().length} memory_gb=${(totalmem() / 2 ** 30).toFixed(1)} node=${process.version}; ` +
      `${selected.length} scenarios${values.quick ? ' (quick)' : ''}; controller from ${entry}`,
  );
  // Room for the 10,000-Service bursts: every LoadBalancer Service takes a NodePort, and Kubernetes' default range
  // holds 2,768. (A repeated flag: the last value wins.)
  const cp = await startControlPlane({ apiserverArgs: ['--service-node-port-range=20000-44999'] });
  const results: Result[] = [];
  try {
    await installAddressPoolCrd(cp.kubeConfig);
    await createPool(cp.kubeConfig, 'bench', [METAL_POOL]);
    const env: BenchEnv = {
      kubeConfig: cp.kubeConfig,
      kubeconfigPath: cp.kubeconfigPath,
      // The 32 load clients keep their connections, as real clients do: without this every create and delete paid
      // a TLS handshake on the apiserver's (shared) cores, and a 1,000-Service burst measured the handshakes.
      core: shareConnections(cp.kubeConfig).makeApiClient(CoreV1Api),
      quick: values.quick,
      settleMs: values.settle ? Number(values.settle) * 1000 : values.quick ? 2000 : 10_000,
      memory: values.memory,
      // SIGUSR2 makes the controller write a .heapsnapshot into its working directory (this one).
      nodeArgs: [...(values['heapsnapshot-signal'] ? ['--heapsnapshot-signal=SIGUSR2'] : []), ...values['node-arg']],
      entry,
      log,
    };
    for (const scenario of selected) {
      const at = performance.now();
      log(`${scenario.label} ...`);
      for (const result of await scenario.run(env)) {
        results.push(result);
        log(`${formatResult(result)} (${((performance.now() - at) / 1000).toFixed(0)} s)`);
      }
    }
  } finally {
    await cp.stop();
  }
  const bursts = results.filter((r) => r.servedAt);
  if (bursts.length > 0 && !values['no-chart']) {
    await writeFile(CHART, burstChart(bursts));
    log(`wrote ${CHART.pathname}`);
  }
  log(`done in ${((performance.now() - started) / 1000).toFixed(0)} s`);
  for (const result of results) process.stdout.write(`${formatResult(result)}\n`);
}

// A signal ends the run through process.exit, so the 'exit' hooks stop the controller and the control plane.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
