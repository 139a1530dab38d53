// Over 300 lines: the fake's state and every rule the real API enforces on it must sit together to stay consistent.
// The fake's Compute Engine state and its rules: what each mutation checks at once (answered as an HTTP error),
// what it does when its Operation completes, and the references between resources (a forwarding rule uses a
// target pool, a pool uses a health check, an address is used by a rule). Written from the v1 REST reference.
import {
  buildBackendService,
  buildHealthCheck,
  buildInstanceGroup,
  checkBackendRule,
  referencesOf,
  type Store,
} from './backends.ts';
import { alreadyExists, GceError, inUse, invalid, invalidField, notFound, required } from './errors.ts';
import { checkFields, type ResourceKind } from './fields.ts';
import { hostRange, inRange, toInt, toIp } from './ipv4.ts';
import { type Operation, type OperationScope, Operations } from './operations.ts';

export const BASE = 'https://www.googleapis.com/compute/v1';

export type Resource = Record<string, unknown> & { name: string; selfLink: string };

type Tier = 'PREMIUM' | 'STANDARD';

/** A regional external address or rule's tier: PREMIUM when unset (GCE's default); the fake serves these two. */
function tierOf(r: Resource): Tier {
  r.networkTier ??= 'PREMIUM';
  if (r.networkTier !== 'PREMIUM' && r.networkTier !== 'STANDARD') {
    throw invalidField('networkTier', r.networkTier, 'The fake serves PREMIUM and STANDARD only.');
  }
  return r.networkTier;
}

/** `projects/p/regions/r/targetPools/x` from a full URL, a project-relative or an absolute partial reference. */
export function refPath(ref: string, project: string): string {
  const at = ref.indexOf('projects/');
  if (at >= 0) return ref.slice(at);
  return `projects/${project}/${ref.replace(/^\//, '')}`;
}

const COLLECTION_KIND: Record<string, ResourceKind> = {
  addresses: 'address',
  httpHealthChecks: 'httpHealthCheck',
  firewalls: 'firewall',
  targetPools: 'targetPool',
  forwardingRules: 'forwardingRule',
  backendServices: 'backendService',
  healthChecks: 'healthCheck',
  instanceGroups: 'instanceGroup',
};

export class Compute {
  readonly operations: Operations;
  /** By resource path (`projects/p/regions/r/targetPools/x`). */
  private readonly resources = new Map<string, Resource>();
  /** External addresses per network tier: GCE hands out Premium and Standard IPs from different ranges. */
  private readonly ranges: Record<Tier, { first: number; last: number }>;
  private idCounter = 1000;
  /** Unmanaged instance groups' members (instance paths), by group path: GCE lists them only via listInstances. */
  private readonly groupMembers = new Map<string, string[]>();
  private readonly store: Store = {
    has: (path) => this.resources.has(path),
    at: (path) => this.resources.get(path),
    all: () => this.resources.values(),
    ref: refPath,
    base: BASE,
  };

  constructor(addressRange: string, operationMs: number, standardRange = '198.51.100.0/24') {
    this.ranges = { PREMIUM: hostRange(addressRange), STANDARD: hostRange(standardRange) };
    this.operations = new Operations(operationMs);
  }

  // ---- seeding and inspection, for tests ----

  seedInstance(project: string, zone: string, name: string): Resource {
    const path = `projects/${project}/zones/${zone}/instances/${name}`;
    const instance = this.make('compute#instance', path, {
      name,
      status: 'RUNNING',
      zone: `${BASE}/projects/${project}/zones/${zone}`,
    });
    this.resources.set(path, instance);
    return instance;
  }

  /** A subnetwork (GCE's are made with the network; tests seed them). IPv6 prefixes make it dual-stack. */
  seedSubnetwork(
    project: string,
    region: string,
    name: string,
    ipCidrRange: string,
    ipv6: { externalIpv6Prefix?: string; internalIpv6Prefix?: string } = {},
  ): Resource {
    const path = `projects/${project}/regions/${region}/subnetworks/${name}`;
    const subnet = this.make('compute#subnetwork', path, {
      name,
      ipCidrRange,
      network: `${BASE}/projects/${project}/global/networks/default`,
      region: `${BASE}/projects/${project}/regions/${region}`,
      stackType: ipv6.externalIpv6Prefix || ipv6.internalIpv6Prefix ? 'IPV4_IPV6' : 'IPV4_ONLY',
      ...(ipv6.externalIpv6Prefix ? { ipv6AccessType: 'EXTERNAL' } : {}),
      ...ipv6,
    });
    this.resources.set(path, subnet);
    return subnet;
  }

  /** The instance paths an unmanaged instance group holds. */
  membersOf(groupPath: string): string[] {
    return [...(this.groupMembers.get(groupPath) ?? [])].sort();
  }

  removeInstance(project: string, zone: string, name: string): void {
    this.resources.delete(`projects/${project}/zones/${zone}/instances/${name}`);
  }

  /** Every resource path held (instances excluded), sorted. */
  paths(): string[] {
    return [...this.resources.keys()].filter((p) => !p.includes('/instances/') && !p.includes('/subnetworks/')).sort();
  }

  peek(path: string): Resource | undefined {
    const r = this.resources.get(path);
    return r && structuredClone(r);
  }

  // ---- reads ----

  get(path: string): Resource {
    const r = this.resources.get(path);
    if (!r) throw notFound(path);
    return structuredClone(r);
  }

  list(collectionPath: string): Resource[] {
    const prefix = `${collectionPath}/`;
    return [...this.resources.entries()]
      .filter(([p]) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map(([, r]) => structuredClone(r));
  }

  // ---- mutations: validate now, apply when the operation completes ----

  insert(project: string, scope: OperationScope, collection: string, body: Record<string, unknown>): Operation {
    const kind = COLLECTION_KIND[collection];
    if (!kind) throw new GceError(405, 'httpMethodNotAllowed', `insert is not supported on ${collection}`);
    const fields = checkFields(kind, body);
    const scopePath = scope.kind === 'global' ? 'global' : `${scope.kind}/${scope.name}`;
    const path = `projects/${project}/${scopePath}/${collection}/${fields.name}`;
    if (this.resources.has(path)) throw alreadyExists(path);
    const build = () => this.build(kind, project, scope, path, fields);
    build(); // every check now, so a bad request is a 4xx, not a failed operation
    return this.operations.start(project, scope, BASE, 'insert', `${BASE}/${path}`, () => {
      if (this.resources.has(path)) throw alreadyExists(path);
      const resource = build();
      this.resources.set(path, resource);
      this.claim(resource, project);
    });
  }

  delete(project: string, scope: OperationScope, path: string): Operation {
    const current = this.get(path);
    this.assertUnused(current, project);
    return this.operations.start(project, scope, BASE, 'delete', `${BASE}/${path}`, () => {
      const resource = this.resources.get(path);
      if (!resource) throw notFound(path);
      this.assertUnused(resource, project);
      this.resources.delete(path);
      this.groupMembers.delete(path);
      this.release(resource, project);
    });
  }

  /** PATCH merges the given fields, PUT (update) replaces the resource: firewalls, health checks, backend services. */
  modify(project: string, scope: OperationScope, path: string, body: Record<string, unknown>, replace: boolean) {
    const collection = path.split('/').at(-2)!;
    const kind = COLLECTION_KIND[collection];
    const patchable: (ResourceKind | undefined)[] = ['firewall', 'httpHealthCheck', 'healthCheck', 'backendService'];
    if (!kind || !patchable.includes(kind)) {
      throw new GceError(
        405,
        'httpMethodNotAllowed',
        `${replace ? 'update' : 'patch'} is not supported on ${collection}`,
      );
    }
    const current = this.get(path);
    const fields = checkFields(kind, body, !replace);
    if (fields.name !== undefined && fields.name !== current.name) {
      throw invalidField('name', fields.name, 'The name of a resource cannot be changed.');
    }
    const build = () => {
      const base = replace ? { name: current.name } : { ...this.writableOf(kind, current) };
      return this.build(kind, project, scope, path, { ...base, ...fields }, current);
    };
    build();
    return this.operations.start(project, scope, BASE, replace ? 'update' : 'patch', `${BASE}/${path}`, () => {
      if (!this.resources.has(path)) throw notFound(path);
      this.resources.set(path, build());
    });
  }

  /** targetPools.addInstance / removeInstance. */
  poolMembers(project: string, scope: OperationScope, path: string, verb: string, body: Record<string, unknown>) {
    const pool = this.get(path);
    const keys = Object.keys(body);
    if (keys.some((k) => k !== 'instances')) throw invalid(`Unknown name "${keys.find((k) => k !== 'instances')}"`);
    const refs = (body.instances as { instance?: string }[] | undefined) ?? [];
    if (refs.length === 0) throw required('instances');
    const wanted = refs.map((r, i) => {
      if (typeof r?.instance !== 'string') throw required(`instances[${i}].instance`);
      return refPath(r.instance, project);
    });
    const check = (members: string[]) => {
      for (const ref of wanted) {
        if (verb === 'addInstance') {
          if (!this.resources.has(ref)) throw notFound(ref);
          if (members.includes(ref)) throw invalidField('instances', ref, 'Instance is already a member of the pool.');
        } else if (!members.includes(ref)) {
          throw invalidField('instances', ref, 'Instance is not a member of the pool.');
        }
      }
      if (new Set(wanted).size !== wanted.length) throw invalid('The same instance is listed twice.');
    };
    check(this.members(pool, project));
    return this.operations.start(project, scope, BASE, verb, `${BASE}/${path}`, () => {
      const live = this.resources.get(path);
      if (!live) throw notFound(path);
      const members = this.members(live, project);
      check(members);
      const next = verb === 'addInstance' ? [...members, ...wanted] : members.filter((m) => !wanted.includes(m));
      live.instances = next.map((m) => `${BASE}/${m}`);
    });
  }

  /** instanceGroups.addInstances / removeInstances (an Operation) and listInstances (a read: the members now). */
  groupInstances(project: string, scope: OperationScope, path: string, verb: string, body: Record<string, unknown>) {
    this.get(path);
    const zone = path.split('/')[3];
    if (verb === 'listInstances') {
      const items = this.membersOf(path).map((m) => ({ instance: `${BASE}/${m}`, status: 'RUNNING' }));
      return { kind: 'compute#instanceGroupsListInstances', id: path, ...(items.length > 0 ? { items } : {}) };
    }
    const keys = Object.keys(body);
    if (keys.some((k) => k !== 'instances')) throw invalid(`Unknown name "${keys.find((k) => k !== 'instances')}"`);
    const refs = (body.instances as { instance?: string }[] | undefined) ?? [];
    if (refs.length === 0) throw required('instances');
    const wanted = refs.map((r, i) => {
      if (typeof r?.instance !== 'string') throw required(`instances[${i}].instance`);
      const ref = refPath(r.instance, project);
      if (ref.split('/')[3] !== zone) throw invalidField('instances', ref, 'The instance is in another zone.');
      return ref;
    });
    if (new Set(wanted).size !== wanted.length) throw invalid('The same instance is listed twice.');
    const check = (members: string[]) => {
      for (const ref of wanted) {
        if (verb === 'addInstances') {
          if (!this.resources.has(ref)) throw notFound(ref);
          if (members.includes(ref)) {
            throw new GceError(400, 'memberAlreadyExists', `The resource '${ref}' is already a member of '${path}'`);
          }
        } else if (!members.includes(ref)) {
          throw new GceError(400, 'memberNotFound', `The resource '${ref}' is not a member of '${path}'`);
        }
      }
    };
    check(this.membersOf(path));
    return this.operations.start(project, scope, BASE, verb, `${BASE}/${path}`, () => {
      const live = this.resources.get(path);
      if (!live) throw notFound(path);
      const members = this.membersOf(path);
      check(members);
      const next = verb === 'addInstances' ? [...members, ...wanted] : members.filter((m) => !wanted.includes(m));
      this.groupMembers.set(path, next);
      live.size = next.length;
    });
  }

  // ---- the rules per kind ----

  private build(
    kind: ResourceKind,
    project: string,
    scope: OperationScope,
    path: string,
    fields: Record<string, unknown>,
    previous?: Resource,
  ): Resource {
    const regionLink = scope.kind === 'regions' ? `${BASE}/projects/${project}/regions/${scope.name}` : undefined;
    const r = this.make(`compute#${kind}`, path, fields, previous);
    switch (kind) {
      case 'backendService':
        return buildBackendService(r, project, regionLink!, this.store);
      case 'healthCheck':
        return buildHealthCheck(r, regionLink!);
      case 'instanceGroup':
        return buildInstanceGroup(r, project, scope.kind === 'zones' ? scope.name : '', this.store);
      case 'address':
        return this.buildAddress(r, project, regionLink!);
      case 'httpHealthCheck':
        return {
          port: 80,
          requestPath: '/',
          checkIntervalSec: 5,
          timeoutSec: 5,
          healthyThreshold: 2,
          unhealthyThreshold: 2,
          ...r,
        };
      case 'firewall':
        return this.buildFirewall(r, project);
      case 'targetPool':
        return this.buildPool(r, project, regionLink!);
      case 'forwardingRule':
        return this.buildRule(r, project, regionLink!);
    }
  }

  private buildAddress(r: Resource, project: string, region: string): Resource {
    r.region = region;
    r.addressType ??= 'EXTERNAL';
    const tier = tierOf(r);
    if (r.addressType !== 'EXTERNAL')
      throw invalidField('addressType', r.addressType, 'The fake serves EXTERNAL only.');
    if (r.address !== undefined) {
      const ip = String(r.address);
      if (!inRange(ip, this.ranges[tier])) {
        throw invalidField('address', ip, `The address is not available in this region for the ${tier} tier.`);
      }
      const other = this.addressHolding(ip, project);
      if (other) throw invalidField('address', ip, `IP address is already reserved by '${other.selfLink}'.`);
      const rule = this.ruleHolding(ip, project);
      if (rule && rule.networkTier !== tier) {
        throw invalidField(
          'networkTier',
          tier,
          `The address is used by '${rule.selfLink}' of the ${rule.networkTier} tier.`,
        );
      }
      r.status = rule ? 'IN_USE' : 'RESERVED';
      r.users = rule ? [rule.selfLink] : [];
    } else {
      r.address = this.nextFreeIp(project, tier);
      r.status = 'RESERVED';
      r.users = [];
    }
    return r;
  }

  private buildFirewall(r: Resource, project: string): Resource {
    r.network = `${BASE}/${refPath(String(r.network ?? 'global/networks/default'), project)}`;
    r.direction ??= 'INGRESS';
    r.priority ??= 1000;
    r.disabled ??= false;
    const rules = (r.allowed ?? r.denied) as { IPProtocol?: string; ports?: string[] }[] | undefined;
    if (r.allowed && r.denied) throw invalid("Only one of 'allowed' and 'denied' may be set.");
    if (!rules || rules.length === 0) throw required('allowed');
    for (const [i, rule] of rules.entries()) {
      if (!rule.IPProtocol) throw required(`allowed[${i}].IPProtocol`);
      for (const p of rule.ports ?? []) {
        if (!/^\d+(-\d+)?$/.test(p)) throw invalidField(`allowed[${i}].ports`, p, 'Ports must be N or N-M.');
      }
    }
    if (r.direction === 'INGRESS' && !r.sourceRanges && !r.sourceTags && !r.sourceServiceAccounts) {
      r.sourceRanges = ['0.0.0.0/0'];
    }
    return r;
  }

  private buildPool(r: Resource, project: string, region: string): Resource {
    r.region = region;
    r.sessionAffinity ??= 'NONE';
    if (!['NONE', 'CLIENT_IP', 'CLIENT_IP_PROTO'].includes(String(r.sessionAffinity))) {
      throw invalidField('sessionAffinity', r.sessionAffinity, 'Must be NONE, CLIENT_IP or CLIENT_IP_PROTO.');
    }
    const checks = (r.healthChecks as string[] | undefined) ?? [];
    if (checks.length > 1) throw invalidField('healthChecks', checks.length, 'At most one health check per pool.');
    for (const hc of checks) {
      const path = refPath(hc, project);
      if (!path.includes('/global/httpHealthChecks/')) {
        throw invalidField('healthChecks', hc, 'Only legacy HttpHealthChecks are supported by target pools.');
      }
      if (!this.resources.has(path)) throw notFound(path);
    }
    r.healthChecks = checks.map((hc) => `${BASE}/${refPath(hc, project)}`);
    const instances = ((r.instances as string[] | undefined) ?? []).map((i) => refPath(i, project));
    for (const i of instances) if (!this.resources.has(i)) throw notFound(i);
    if (new Set(instances).size !== instances.length) throw invalid('The same instance is listed twice.');
    r.instances = instances.map((i) => `${BASE}/${i}`);
    return r;
  }

  private buildRule(r: Resource, project: string, region: string): Resource {
    r.region = region;
    r.loadBalancingScheme ??= 'EXTERNAL';
    r.IPProtocol ??= 'TCP';
    const tier = tierOf(r);
    if (!r.target && !r.backendService) throw required('target');
    const backendIp = r.backendService ? checkBackendRule(r, project, region, this.store) : undefined;
    if (backendIp !== undefined) {
      r.IPAddress = backendIp;
      if (r.loadBalancingScheme === 'INTERNAL') r.networkTier = 'PREMIUM';
      else tierOf(r);
      return this.portsOf(r);
    }
    if (r.target) {
      const target = refPath(String(r.target), project);
      if (!target.includes('/targetPools/'))
        throw invalidField('target', r.target, 'The fake serves target pools only.');
      if (`${BASE}/${target}`.split('/regions/')[1]?.split('/')[0] !== region.split('/').at(-1)) {
        throw invalidField('target', r.target, 'The target pool must be in the region of the forwarding rule.');
      }
      if (!this.resources.has(target)) throw notFound(target);
      r.target = `${BASE}/${target}`;
      if (r.backendService) throw invalid('A forwarding rule cannot have both a target and a backendService.');
      if (r.ports) throw invalidField('ports', r.ports, "'ports' may only be used with a backend service.");
      if (r.loadBalancingScheme !== 'EXTERNAL') {
        throw invalidField('loadBalancingScheme', r.loadBalancingScheme, 'Target pools need EXTERNAL.');
      }
      if (!['TCP', 'UDP'].includes(String(r.IPProtocol))) {
        throw invalidField('IPProtocol', r.IPProtocol, 'Target pools forward TCP or UDP.');
      }
    }
    this.portsOf(r);
    if (r.IPAddress !== undefined) {
      const given = String(r.IPAddress);
      const address = given.includes('/addresses/')
        ? this.resources.get(refPath(given, project))
        : this.addressHolding(given, project);
      if (!address) {
        throw invalidField('IPAddress', given, 'Specified IP address is not reserved in this project and region.');
      }
      if (address.status === 'IN_USE') {
        throw invalidField(
          'IPAddress',
          given,
          `The address is already being used by '${(address.users as string[])[0]}'.`,
        );
      }
      if (address.region !== region) throw invalidField('IPAddress', given, 'The address is in another region.');
      if (address.networkTier !== tier) {
        throw invalidField(
          'networkTier',
          tier,
          `The networkTier of a forwarding rule must be equal to the networkTier of its address (${address.networkTier}).`,
        );
      }
      r.IPAddress = address.address;
    } else {
      r.IPAddress = this.nextFreeIp(project, tier);
    }
    return r;
  }

  /** A rule's ports: `portRange` N-M (N alone means N-N), or every port; `allPorts` and `portRange` exclude each other. */
  private portsOf(r: Resource): Resource {
    if (r.allPorts && r.portRange) throw invalid("'allPorts' and 'portRange' cannot both be set.");
    if (r.portRange !== undefined) {
      const m = /^(\d+)(?:-(\d+))?$/.exec(String(r.portRange));
      if (!m || Number(m[1]) < 1 || Number(m[2] ?? m[1]) > 65535 || Number(m[2] ?? m[1]) < Number(m[1])) {
        throw invalidField('portRange', r.portRange, 'Must be N or N-M within 1-65535.');
      }
      if (!m[2]) r.portRange = `${m[1]}-${m[1]}`;
    } else if (!r.allPorts && !r.ports) {
      r.portRange = '1-65535';
    }
    return r;
  }

  /** When a forwarding rule comes into being, the static address it names becomes IN_USE. */
  private claim(resource: Resource, project: string): void {
    if (!resource.selfLink.includes('/forwardingRules/')) return;
    const address = this.addressHolding(String(resource.IPAddress), project);
    if (address) {
      address.status = 'IN_USE';
      address.users = [resource.selfLink];
    }
  }

  /** When a rule goes, its static address is RESERVED again; an ephemeral one returns to the range. */
  private release(resource: Resource, project: string): void {
    if (!resource.selfLink.includes('/forwardingRules/')) return;
    const address = this.addressHolding(String(resource.IPAddress), project);
    if (address) {
      address.status = 'RESERVED';
      address.users = [];
    }
  }

  /** Deleting what another resource references is refused (400 resourceInUseByAnotherResource). */
  private assertUnused(resource: Resource, project: string): void {
    const self = refPath(resource.selfLink, project);
    for (const other of this.resources.values()) {
      if (referencesOf(other).some((ref) => refPath(ref, project) === self)) {
        throw inUse(`'${resource.selfLink}'`, other.selfLink);
      }
    }
    // A static address in use by a rule may be deleted: GCE demotes it to ephemeral and the rule keeps the IP.
  }

  private members(pool: Resource, project: string): string[] {
    return ((pool.instances as string[] | undefined) ?? []).map((i) => refPath(i, project));
  }

  private addressHolding(ip: string, project: string): Resource | undefined {
    for (const [path, r] of this.resources) {
      if (path.startsWith(`projects/${project}/`) && path.includes('/addresses/') && r.address === ip) return r;
    }
    return undefined;
  }

  private ruleHolding(ip: string, project: string): Resource | undefined {
    for (const [path, r] of this.resources) {
      if (path.startsWith(`projects/${project}/`) && path.includes('/forwardingRules/') && r.IPAddress === ip) return r;
    }
    return undefined;
  }

  private nextFreeIp(project: string, tier: Tier): string {
    const taken = new Set<number>();
    for (const r of this.resources.values()) {
      for (const ip of [r.address, r.IPAddress]) if (typeof ip === 'string') taken.add(toInt(ip));
    }
    const range = this.ranges[tier];
    for (let n = range.first; n <= range.last; n++) if (!taken.has(n)) return toIp(n);
    throw new GceError(403, 'quotaExceeded', `No free external address left for project ${project}.`, 'usageLimits');
  }

  private writableOf(kind: ResourceKind, r: Resource): Record<string, unknown> {
    return checkFields(kind, r, true);
  }

  private make(kind: string, path: string, fields: Record<string, unknown>, previous?: Resource): Resource {
    return {
      ...fields,
      kind,
      id: (previous?.id as string | undefined) ?? String(++this.idCounter),
      creationTimestamp: (previous?.creationTimestamp as string | undefined) ?? new Date().toISOString(),
      name: String(fields.name),
      selfLink: `${BASE}/${path}`,
    };
  }
}
