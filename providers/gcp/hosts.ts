// updateHosts: only the target pool's members, added and removed in batches (plan.ts membershipSteps).
import { type ChangeResult, LoadBalancerNotFoundError, type LoadBalancerSpec } from '../../src/contract/provider.ts';
import type { Call, Gce } from './gce.ts';
import { namesFor } from './names.ts';
import type { TargetInstances } from './observe.ts';
import { membershipSteps } from './plan.ts';

/** Throws LoadBalancerNotFoundError when there is no target pool to update. */
export async function updateHosts(
  gce: Gce,
  targets: TargetInstances,
  spec: Readonly<LoadBalancerSpec>,
  call: Call,
): Promise<ChangeResult> {
  const { lb } = namesFor(spec.identity);
  const pool = await gce.getPool(lb, call);
  if (!pool) throw new LoadBalancerNotFoundError(`no target pool ${lb} to update`);
  const steps = membershipSteps(gce, lb, pool, await targets.resolve(spec, call), call);
  for (const step of steps) await step.run();
  return { changed: steps.length > 0 };
}
