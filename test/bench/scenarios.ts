// The scenario list, full and --quick. Quick keeps every kind of scenario at a size that finishes in under three
// minutes on a 2-core machine; the full set is the sizes.
import { burst } from './burst.ts';
import type { Result } from './result.ts';
import type { BenchEnv } from './session.ts';

export interface Scenario {
  label: string;
  run(env: BenchEnv): Promise<Result[]>;
}

export function scenarios(quick: boolean): Scenario[] {
  const sizes = quick ? [100, 1000] : [100, 1000, 10_000];
  const list: Scenario[] = [];
  for (const provider of ['metal', 'fake'] as const) {
    for (const n of sizes)
      list.push({ label: `burst ${provider} ${n}`, run: async (env) => [await burst(env, provider, n)] });
  }
  return list;
}
