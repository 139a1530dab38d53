// Runs the plan's steps in order; ensure() hands it the real clients, plan() a PlanRecorder.
import type { EnsureResult } from '../../src/contract/provider.ts';
import { statusOf } from './observe.ts';
import type { Step, StepContext } from './plan.ts';

export async function apply(steps: readonly Step[], ctx: StepContext): Promise<EnsureResult> {
  let changed = false;
  for (const step of steps) if (await step.run(ctx)) changed = true;
  return { status: statusOf(ctx.lb!), changed };
}
