// Runs the plan's steps in order; the load balancer's address is the forwarding rule's (known after its creation).
import {
  type EnsureResult,
  type LoadBalancerIdentity,
  type LogPort,
  RetryableError,
} from '../../src/contract/provider.ts';
import type { AddressState, Step } from './plan.ts';

export async function apply(
  steps: readonly Step[],
  state: AddressState,
  identity: Readonly<LoadBalancerIdentity>,
  log: LogPort,
): Promise<EnsureResult> {
  for (const step of steps) {
    log.debug({ ...step.action, service: `${identity.namespace}/${identity.name}` }, 'gce step');
    await step.run();
  }
  if (!state.ip) throw new RetryableError('NoAddressYet', 'the forwarding rule has no IP address yet');
  return { status: { ingress: [{ ip: state.ip, ipMode: 'VIP' }] }, changed: steps.length > 0 };
}
