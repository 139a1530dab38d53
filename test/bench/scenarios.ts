// The scenario list, full and --quick. Quick keeps every kind of scenario at a size that finishes in about three
// minutes on a 2-core machine; the full set is the sizes.
import { burst } from './burst.ts';
import { churn } from './churn.ts';
import { flap } from './flap.ts';
import type { Result } from './result.ts';
import type { BenchEnv } from './session.ts';
import { steady } from './steady.ts';
import { throttleAws } from './throttle-aws.ts';

export interface Scenario {
  label: string;
  run(env: BenchEnv): Promise<Result[]>;
}

const SIZES = {
  // Steady 20 s is two full resync rounds (--resync 10); flap 10 s is ten flips: the figures that matter (zero
  // writes and mutations, calls per round, CPU per minute) read the same as from longer windows.
  quick: { bursts: [100, 1000], steady: { n: 100, s: 20 }, flap: { n: 100, s: 10 }, churn: { nodes: 20, n: 200 } },
  full: {
    bursts: [100, 1000, 10_000],
    steady: { n: 1000, s: 600 },
    flap: { n: 1000, s: 60 },
    churn: { nodes: 100, n: 1000 },
  },
};

export function scenarios(quick: boolean): Scenario[] {
  const z = quick ? SIZES.quick : SIZES.full;
  const list: Scenario[] = [];
  for (const n of z.bursts) {
    for (const provider of ['metal', 'fake'] as const) {
      list.push({ label: `burst ${provider} ${n}`, run: async (env) => [await burst(env, provider, n)] });
    }
  }
  list.push({
    label: `steady metal ${z.steady.n}`,
    run: async (env) => [await steady(env, 'metal', z.steady.n, z.steady.s)],
  });
  if (!quick)
    list.push({
      label: `steady fake ${z.steady.n}`,
      run: async (env) => [await steady(env, 'fake', z.steady.n, z.steady.s)],
    });
  list.push({ label: `flap fake ${z.flap.n}`, run: async (env) => [await flap(env, z.flap.n, z.flap.s)] });
  list.push({ label: `churn fake ${z.churn.n}`, run: (env) => churn(env, z.churn.nodes, z.churn.n) });
  list.push({ label: 'throttle gcp 20', run: async (e) => [await (await import('./throttle-gcp.ts')).throttleGcp(e)] });
  list.push({ label: 'throttle aws 20', run: async (env) => [await throttleAws(env, 20)] });
  return list;
}
