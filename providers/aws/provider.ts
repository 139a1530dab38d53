// The aws provider: one internet-facing (or internal) Network Load Balancer per Service, one target group and one
// listener per Service port, instance targets on the NodePorts, and our own ingress rules on the node security
// groups. Every step observes, compares, then writes only the difference, so a converged Service costs no
// mutating call (see README.md for the measured counts).
import {
  CreateLoadBalancerCommand,
  type CreateLoadBalancerCommandOutput,
  DeleteListenerCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeLoadBalancerAttributesCommand,
  type DescribeLoadBalancerAttributesCommandOutput,
  DescribeLoadBalancersCommand,
  type LoadBalancer,
  ModifyLoadBalancerAttributesCommand,
  SetSecurityGroupsCommand,
  SetSubnetsCommand,
  type SetSubnetsCommandOutput,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import {
  type CallOptions,
  type ChangeResult,
  type EnsureResult,
  type LoadBalancerIdentity,
  LoadBalancerNotFoundError,
  type LoadBalancerSpec,
  type LogPort,
  type ObservedLoadBalancer,
  type PlannedAction,
  type Provider,
  type ProviderContext,
  RetryableError,
  type ServiceCheck,
  TerminalError,
  ThrottledError,
} from '../../src/contract/provider.ts';
import { type AwsOptions, readAnnotations } from './annotations.ts';
import { AwsClients, errorCode, PlanRecorder, type Sender } from './clients.ts';
import { desiredPorts, desiredRules, frontendRules } from './desired.ts';
import {
  findLoadBalancer,
  listenersOf,
  registeredTargets,
  syncTargets,
  targetGroupsByPrefix,
  targetGroupsOf,
} from './elbv2.ts';
import { syncForwarding } from './forwarding.ts';
import type { AwsConfig } from './index.ts';
import { InstanceCache } from './instance-cache.ts';
import { clusterTag, loadBalancerName, ownerTags, targetGroupPrefix, toAwsTags } from './names.ts';
import { chooseSubnets, type NodeInstance, vpcCidr } from './network.ts';
import { listOwnedLoadBalancers } from './owned.ts';
import { deleteFrontendGroups, ensureGroups, syncRules } from './security-groups.ts';

type Spec = Readonly<LoadBalancerSpec<AwsOptions>>;

const statusOf = (lb: LoadBalancer) => ({ ingress: [{ hostname: (lb.DNSName ?? '').toLowerCase() }] });

export class AwsProvider implements Provider<AwsOptions> {
  readonly name = 'aws';
  readonly clients: AwsClients;
  private readonly cluster: string;
  private readonly log: LogPort;
  /** instance id -> node name, as last resolved; lets get() report node names without a Node lookup. */
  private readonly nodeNames = new Map<string, string>();
  private readonly instanceCache: InstanceCache;

  constructor(context: ProviderContext, config: AwsConfig) {
    this.clients = new AwsClients(config);
    this.instanceCache = new InstanceCache(this.clients);
    this.cluster = context.clusterName;
    this.log = context.log.child({ provider: 'aws' });
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

  async ensure(spec: Spec, { signal }: CallOptions): Promise<EnsureResult> {
    return this.converge(spec, this.clients, signal);
  }

  /** ensure() with every write recorded instead of sent. */
  async plan(spec: Spec, { signal }: CallOptions): Promise<PlannedAction[]> {
    const recorder = new PlanRecorder(this.clients);
    await this.converge(spec, recorder, signal);
    return recorder.actions;
  }

  private async converge(spec: Spec, clients: Sender, signal: AbortSignal): Promise<EnsureResult> {
    const ports = desiredPorts(spec); // refuses what an NLB cannot do before any call
    const name = loadBalancerName(spec.identity);
    const tags = toAwsTags(ownerTags(spec.identity, spec.providerOptions.extraTags));
    const instances = await this.instances(spec, signal);
    let changed = false;

    let lb = await findLoadBalancer(clients, name, signal);
    if (lb && lb.Scheme !== spec.providerOptions.scheme) {
      throw new TerminalError(
        'SchemeChange',
        `the NLB is ${lb.Scheme}; an NLB's scheme cannot change (recreate the Service)`,
      );
    }
    const ownTags = ownerTags(spec.identity, spec.providerOptions.extraTags);
    // Our security groups must not look like node groups (those are found by the kubernetes.io/cluster tag).
    delete ownTags[clusterTag(this.cluster)];
    let legacy = false;
    if (!lb) {
      const { subnetIds, vpcId } = await chooseSubnets(clients, this.cluster, spec.providerOptions, instances, signal);
      const eips = spec.providerOptions.eipAllocations;
      if (eips && eips.length !== subnetIds.length) {
        throw new TerminalError(
          'EipAllocationCount',
          `eip-allocations lists ${eips.length} allocation(s) but the NLB gets ${subnetIds.length} subnet(s) ` +
            `(${subnetIds.join(', ')}): list exactly one per subnet`,
        );
      }
      const sg = await ensureGroups(clients, this.cluster, vpcId, name, ownTags, frontendRules(spec, ports), signal);
      const res = await clients.send<CreateLoadBalancerCommandOutput>(
        'elbv2',
        new CreateLoadBalancerCommand({
          Name: name,
          Type: 'network',
          Scheme: spec.providerOptions.scheme,
          SecurityGroups: [sg.frontend, sg.backend],
          // Elastic IPs pair with the subnets in subnet-ID order (chooseSubnets sorts them).
          ...(eips
            ? { SubnetMappings: subnetIds.map((SubnetId, i) => ({ SubnetId, AllocationId: eips[i]! })) }
            : { Subnets: subnetIds }),
          Tags: tags,
        }),
        signal,
      );
      lb = res.LoadBalancers![0]!;
      changed = true;
    } else {
      if (await this.extendSubnets(clients, lb, spec, instances, signal)) changed = true;
      legacy = !lb.SecurityGroups?.length;
      if (!legacy) {
        const sg = await ensureGroups(
          clients,
          this.cluster,
          lb.VpcId!,
          name,
          ownTags,
          frontendRules(spec, ports),
          signal,
        );
        if (sg.changed) changed = true;
        const want = [sg.frontend, sg.backend].sort();
        if ([...lb.SecurityGroups!].sort().join() !== want.join()) {
          // Drift: a group swapped or dropped behind our back (an NLB with groups can change them, never lose all).
          await clients.send(
            'elbv2',
            new SetSecurityGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn, SecurityGroups: want }),
            signal,
          );
          changed = true;
        }
      }
    }
    const lbArn = lb.LoadBalancerArn!;
    const vpcId = lb.VpcId!;
    if (await this.syncCrossZone(clients, lbArn, spec.providerOptions.crossZone, signal)) changed = true;

    const instanceIds = instances.map((i) => i.instanceId);
    if (await syncForwarding(clients, { lbArn, vpcId, ports, instanceIds, tags }, signal)) changed = true;

    if (legacy) {
      // An NLB made before NLBs got our groups: it cannot gain any, so its own rules on the node SGs stay in use.
      const cidr = spec.externalTrafficPolicy === 'Local' ? await vpcCidr(clients, vpcId, signal) : '';
      if (await syncRules(clients, this.cluster, vpcId, name, desiredRules(spec, ports, cidr), signal)) changed = true;
    }
    return { status: statusOf(lb), changed };
  }

  /** Only target membership: Register/Deregister for the difference, nothing else is written. */
  async updateHosts(spec: Spec, options: CallOptions): Promise<ChangeResult> {
    const { signal } = options;
    const ports = desiredPorts(spec);
    const lb = await findLoadBalancer(this.clients, loadBalancerName(spec.identity), signal);
    if (!lb) throw new LoadBalancerNotFoundError(`no NLB ${loadBalancerName(spec.identity)} to update`);
    const attached = new Map(
      (await targetGroupsOf(this.clients, lb.LoadBalancerArn!, signal)).map((g) => [g.TargetGroupName!, g]),
    );
    if (ports.some((p) => !attached.has(p.targetGroupName))) {
      throw new LoadBalancerNotFoundError(`the NLB ${lb.LoadBalancerName} lacks a target group of the Service's ports`);
    }
    const instances = await this.instances(spec, signal);
    const ids = instances.map((i) => i.instanceId);
    // A node in a zone the NLB does not serve yet: add that zone's subnet, or its targets would get no traffic.
    let changed = await this.extendSubnets(this.clients, lb, spec, instances, signal);
    for (const p of ports) {
      if (await syncTargets(this.clients, attached.get(p.targetGroupName)!.TargetGroupArn!, ids, p.nodePort, signal))
        changed = true;
    }
    return { changed };
  }

  /** Listeners, then the NLB, then every target group with our prefix (attached or stray), then our SG rules. */
  async ensureDeleted(identity: Readonly<LoadBalancerIdentity>, { signal }: CallOptions): Promise<ChangeResult> {
    const name = loadBalancerName(identity);
    let changed = false;
    const lb = await findLoadBalancer(this.clients, name, signal);
    if (lb) {
      for (const l of await listenersOf(this.clients, lb.LoadBalancerArn!, signal)) {
        await this.clients.send('elbv2', new DeleteListenerCommand({ ListenerArn: l.ListenerArn }), signal);
      }
      await this.clients.send('elbv2', new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.LoadBalancerArn }), signal);
      changed = true;
    }
    for (const g of await targetGroupsByPrefix(this.clients, targetGroupPrefix(identity), signal)) {
      try {
        await this.clients.send('elbv2', new DeleteTargetGroupCommand({ TargetGroupArn: g.TargetGroupArn }), signal);
        changed = true;
      } catch (e) {
        if (errorCode(e) !== 'TargetGroupNotFoundException') throw e;
      }
    }
    if (await deleteFrontendGroups(this.clients, this.cluster, identity.uid, signal)) changed = true;
    // Rules of an NLB made before our groups existed (none for newer ones: this is one read then).
    if (await syncRules(this.clients, this.cluster, null, name, [], signal)) changed = true;
    return { changed };
  }

  async get(identity: Readonly<LoadBalancerIdentity>, { signal }: CallOptions): Promise<ObservedLoadBalancer | null> {
    const lb = await findLoadBalancer(this.clients, loadBalancerName(identity), signal);
    if (!lb) return null;
    const ids = new Set<string>();
    for (const g of await targetGroupsOf(this.clients, lb.LoadBalancerArn!, signal)) {
      for (const key of await registeredTargets(this.clients, g.TargetGroupArn!, signal)) ids.add(key.split(':')[0]!);
    }
    const backends = [...ids].map((id) => this.nodeNames.get(id) ?? id).sort();
    return { identity: { ...identity }, status: statusOf(lb), backends };
  }

  /** Every NLB tagged as this cluster's, read back into identities from its tags. */
  listOwned({ signal }: CallOptions): Promise<LoadBalancerIdentity[]> {
    return listOwnedLoadBalancers(this.clients, this.cluster, signal);
  }

  /**
   * One subnet per zone that has target nodes, kept current: a zone with nodes and no subnet of the NLB gets its
   * discovered subnet added (SetSubnets with the current ones plus the new). Zones are never removed (in-flight
   * connections); subnets named by annotation, or paired with Elastic IPs, are the user's fixed choice.
   */
  private async extendSubnets(
    clients: Sender,
    lb: LoadBalancer,
    spec: Spec,
    instances: readonly NodeInstance[],
    signal: AbortSignal,
  ): Promise<boolean> {
    const o = spec.providerOptions;
    if (o.subnets || o.eipAllocations) return false;
    const served = new Set((lb.AvailabilityZones ?? []).map((z) => z.ZoneName));
    const newZones = new Set(instances.map((i) => i.zone).filter((z) => z && !served.has(z)));
    if (newZones.size === 0) return false;
    const inNewZones = instances.filter((i) => newZones.has(i.zone));
    const { subnetIds, zoneOf } = await chooseSubnets(clients, this.cluster, o, inNewZones, signal);
    const current = (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!);
    // chooseSubnets falls back to any zone when none of the new zones has a tagged subnet: add nothing then.
    const usable = subnetIds.filter((s) => !current.includes(s) && newZones.has(zoneOf.get(s) ?? ''));
    if (usable.length === 0) {
      this.log.warn({ zones: [...newZones] }, 'nodes in zones with no discoverable subnet get no NLB traffic');
      return false;
    }
    const res = await clients.send<SetSubnetsCommandOutput>(
      'elbv2',
      new SetSubnetsCommand({ LoadBalancerArn: lb.LoadBalancerArn, Subnets: [...current, ...usable].sort() }),
      signal,
    );
    lb.AvailabilityZones = res.AvailabilityZones ?? lb.AvailabilityZones;
    return true;
  }

  /** load_balancing.cross_zone.enabled to `want`: one read, a write only when it differs. */
  private async syncCrossZone(clients: Sender, lbArn: string, want: boolean, signal: AbortSignal): Promise<boolean> {
    const key = 'load_balancing.cross_zone.enabled';
    const res = await clients.send<DescribeLoadBalancerAttributesCommandOutput>(
      'elbv2',
      new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lbArn }),
      signal,
    );
    const have = res.Attributes?.find((a) => a.Key === key)?.Value ?? 'false';
    if (have === String(want)) return false;
    await clients.send(
      'elbv2',
      new ModifyLoadBalancerAttributesCommand({
        LoadBalancerArn: lbArn,
        Attributes: [{ Key: key, Value: String(want) }],
      }),
      signal,
    );
    return true;
  }

  private async instances(spec: Spec, signal: AbortSignal): Promise<NodeInstance[]> {
    const wanted = Object.entries(spec.providerOptions.targetNodeLabels);
    // target-node-labels as in-tree: every pair must match; an empty value only needs the key.
    const nodes = spec.nodes.filter((n) =>
      wanted.every(([k, v]) => n.labels?.[k] !== undefined && (v === '' || n.labels[k] === v)),
    );
    const found = await this.instanceCache.resolve(nodes, signal);
    for (const i of found) this.nodeNames.set(i.instanceId, i.node);
    const missing = nodes.length - found.length;
    if (missing > 0)
      this.log.warn(
        { service: `${spec.identity.namespace}/${spec.identity.name}`, missing },
        'nodes without a running EC2 instance are not registered',
      );
    return found;
  }
}
