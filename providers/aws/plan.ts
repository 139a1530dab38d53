// The aws provider's plan: from what was observed, the ordered steps that converge one Service's NLB. Creation
// and drift repair are both steps. An NLB and what hangs off it (groups, listeners, target groups, targets) have
// no single read, so each step reads its own slice and writes only the difference; plan() runs the same steps
// with a PlanRecorder that records the writes instead of sending them (clients.ts).
import type { LoadBalancer } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type LoadBalancerSpec, type LogPort, TerminalError } from '../../src/contract/provider.ts';
import { EIP_NOTICE, eipChangeRefusal, syncIpAddressType } from './addresses.ts';
import type { AwsOptions } from './annotations.ts';
import type { Sender } from './clients.ts';
import { type DesiredLoadBalancer, desiredRules } from './desired.ts';
import { syncForwarding } from './forwarding.ts';
import {
  createLoadBalancer,
  extendSubnets,
  syncAttributes,
  syncSecurityGroups,
  wantedAttributes,
} from './load-balancer.ts';
import { vpcCidr } from './network.ts';
import { syncRules } from './node-rules.ts';
import type { Notices } from './notices.ts';
import type { Observed } from './observe.ts';

/** What every step is handed; `lb` is the NLB once it exists (the creation step sets it). */
export interface StepContext {
  clients: Sender;
  cluster: string;
  log: LogPort;
  signal: AbortSignal;
  spec: Readonly<LoadBalancerSpec<AwsOptions>>;
  desired: DesiredLoadBalancer;
  observed: Observed;
  lb: LoadBalancer | null;
  /** Warnings on the Service (ensure only: plan records none). */
  notices?: Notices;
}

export interface Step {
  name: string;
  /** True when it changed anything. */
  run(ctx: StepContext): Promise<boolean>;
}

const create: Step = {
  name: 'create the NLB',
  run: async (ctx) => {
    const { clients, cluster, spec, desired, observed, signal } = ctx;
    ctx.lb = await createLoadBalancer(clients, cluster, spec.providerOptions, desired, observed.instances, signal);
    return true;
  },
};

const subnets: Step = {
  name: 'serve every zone with target nodes',
  run: ({ clients, cluster, log, lb, spec, observed, signal }) =>
    extendSubnets(clients, cluster, log, lb!, spec.providerOptions, observed.instances, signal),
};

const securityGroups: Step = {
  name: 'security groups',
  run: ({ clients, cluster, lb, desired, signal }) => syncSecurityGroups(clients, cluster, lb!, desired, signal),
};

const crossZone: Step = {
  name: 'load-balancer attributes (cross-zone and the annotation)',
  run: ({ clients, lb, spec, signal }) =>
    syncAttributes(clients, lb!.LoadBalancerArn!, wantedAttributes(spec.providerOptions), signal),
};

const forwarding: Step = {
  name: 'target groups, targets and listeners',
  run: ({ clients, lb, spec, desired, observed, signal }) =>
    syncForwarding(
      clients,
      {
        lbArn: lb!.LoadBalancerArn!,
        vpcId: lb!.VpcId!,
        ports: desired.ports,
        instanceIds: observed.instances.map((i) => i.instanceId),
        tags: desired.tags,
        targetGroupAttributes: spec.providerOptions.targetGroupAttributes,
      },
      signal,
    ),
};

const addresses: Step = {
  name: 'IP address type, and Elastic IPs (refused when changed)',
  run: async ({ clients, lb, spec, signal, notices }) => {
    const refusal = await eipChangeRefusal(clients, lb!, spec.providerOptions, signal);
    notices?.set(spec.identity, EIP_NOTICE.topic, EIP_NOTICE.reason, refusal ? [refusal] : []);
    return syncIpAddressType(clients, lb!, spec.providerOptions, signal);
  },
};

/** An NLB made before NLBs got our groups: it cannot gain any, so its own rules on the node SGs stay in use. */
const legacyNodeRules: Step = {
  name: 'node security-group rules of an NLB without groups',
  run: async ({ clients, cluster, lb, spec, desired, signal }) => {
    const vpcId = lb!.VpcId!;
    const cidr = spec.externalTrafficPolicy === 'Local' ? await vpcCidr(clients, vpcId, signal) : '';
    return syncRules(clients, cluster, vpcId, desired.name, desiredRules(spec, desired.ports, cidr), signal);
  },
};

/** Pure: the steps, in the order they run. Throws TerminalError for what no step can repair. */
export function planSteps(spec: Readonly<LoadBalancerSpec<AwsOptions>>, observed: Observed): Step[] {
  const { lb } = observed;
  if (!lb) return [create, crossZone, forwarding];
  if (lb.Scheme !== spec.providerOptions.scheme) {
    throw new TerminalError(
      'SchemeChange',
      `the NLB is ${lb.Scheme}; an NLB's scheme cannot change (recreate the Service)`,
    );
  }
  const legacy = !lb.SecurityGroups?.length;
  if (legacy) return [subnets, addresses, crossZone, forwarding, legacyNodeRules];
  return [subnets, addresses, securityGroups, crossZone, forwarding];
}
