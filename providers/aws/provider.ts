// The aws provider: one internet-facing (or internal) Network Load Balancer per Service, one target group and one
// listener per Service port, instance targets on the NodePorts, and our own ingress rules on the node security
// groups. ensure() observes (observe.ts), plans the steps that converge what exists to what the spec asks for
// (desired.ts, plan.ts) and applies them (apply.ts); every step writes only the difference, so a converged Service
// costs no mutating call (see README.md for the measured counts). Deletion and orphan listing are teardown.ts.
import { DescribeLoadBalancersCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import {
  type CallOptions,
  type ChangeResult,
  type EnsureResult,
  type LoadBalancerIdentity,
  type LoadBalancerSpec,
  type LogPort,
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  RetryableError,
  type ServiceCheck,
  ThrottledError,
} from '../../src/contract/provider.ts';
import { type AwsOptions, readAnnotations } from './annotations.ts';
import { apply } from './apply.ts';
import { AwsClients, errorCode, PlanRecorder, type Sender } from './clients.ts';
import { desiredLoadBalancer } from './desired.ts';
import { findLoadBalancer } from './elbv2.ts';
import { updateHosts } from './hosts.ts';
import type { AwsConfig } from './index.ts';
import { InstanceCache } from './instance-cache.ts';
import { loadBalancerName } from './names.ts';
import { Notices } from './notices.ts';
import { observe, registeredInstances, statusOf, TargetInstances } from './observe.ts';
import { planSteps } from './plan.ts';
import { deleteLoadBalancer, listOwnedLoadBalancers } from './teardown.ts';

type Spec = Readonly<LoadBalancerSpec<AwsOptions>>;

export class AwsProvider implements Provider<AwsOptions> {
  readonly name = 'aws';
  readonly clients: AwsClients;
  private readonly cluster: string;
  private readonly log: LogPort;
  private readonly targets: TargetInstances;
  private readonly notices: Notices;

  constructor(context: ProviderContext, config: AwsConfig) {
    this.clients = new AwsClients(config, context.metrics);
    this.cluster = context.clusterName;
    // The core's log for a provider already carries "provider":"aws".
    this.log = context.log;
    this.targets = new TargetInstances(new InstanceCache(this.clients));
    this.notices = new Notices(context.events, this.log);
  }

  /**
   * One cheap read at start-up, so a wrong endpoint, no network or no credentials stop the controller with one
   * clear line instead of failing every reconcile. Throttling or a 5xx means AWS answered: that is not fatal.
   */
  async checkEndpoint(where: string): Promise<void> {
    try {
      await this.clients.send('elbv2', new DescribeLoadBalancersCommand({ PageSize: 1 }), AbortSignal.timeout(20_000));
    } catch (e) {
      if (e instanceof ThrottledError || e instanceof RetryableError) return;
      await this.stop();
      // Network errors carry a code (ECONNREFUSED); AWS errors a name and a message.
      const network = (e as { code?: string }).code;
      const cause = network ?? `${errorCode(e) ?? 'error'}: ${(e as Error).message ?? String(e)}`;
      throw new Error(`aws: cannot use ${where}: ${cause}`, { cause: e });
    }
  }

  checkService(service: Readonly<V1Service>): ServiceCheck<AwsOptions> {
    return readAnnotations(service);
  }

  async stop(): Promise<void> {
    await this.clients.stop();
  }

  ensure(spec: Spec, { signal }: CallOptions): Promise<EnsureResult> {
    return this.converge(spec, this.clients, signal, this.notices);
  }

  /** ensure() with every write recorded instead of sent. */
  async plan(spec: Spec, { signal }: CallOptions): Promise<PlannedAction[]> {
    const recorder = new PlanRecorder(this.clients);
    await this.converge(spec, recorder, signal);
    return recorder.actions;
  }

  private async converge(spec: Spec, clients: Sender, signal: AbortSignal, notices?: Notices): Promise<EnsureResult> {
    const desired = desiredLoadBalancer(spec, this.cluster); // refuses what an NLB cannot do before any call
    const observed = await observe(clients, this.targets, spec, desired.name, signal, notices);
    const steps = planSteps(spec, observed);
    const { cluster, log } = this;
    return apply(steps, { clients, cluster, log, signal, spec, desired, observed, lb: observed.lb, notices });
  }

  /** Only target membership: Register/Deregister for the difference, nothing else is written. */
  updateHosts(spec: Spec, { signal }: CallOptions): Promise<ChangeResult> {
    return updateHosts(this.clients, this.cluster, this.log, this.targets, spec, signal, this.notices);
  }

  async ensureDeleted(identity: Readonly<LoadBalancerIdentity>, { signal }: CallOptions): Promise<ChangeResult> {
    const changed = await deleteLoadBalancer(this.clients, this.cluster, identity, signal);
    this.notices.forget(identity.uid);
    return { changed };
  }

  async get(identity: Readonly<LoadBalancerIdentity>, { signal }: CallOptions): Promise<ObservedLoadBalancer | null> {
    const lb = await findLoadBalancer(this.clients, loadBalancerName(identity), signal);
    if (!lb) return null;
    const ids = await registeredInstances(this.clients, lb.LoadBalancerArn!, signal);
    const backends = ids.map((id) => this.targets.nodeName(id)).sort();
    return { identity: { ...identity }, status: statusOf(lb), backends };
  }

  /** Every NLB tagged as this cluster's, read back into identities from its tags. */
  listOwned({ signal }: CallOptions): Promise<LoadBalancerIdentity[]> {
    return listOwnedLoadBalancers(this.clients, this.cluster, signal);
  }
}
