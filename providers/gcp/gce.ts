// The provider's one door to Compute Engine: every call goes through a rate limiter, carries the AbortSignal,
// waits for its Operation to be DONE, and fails with the contract's typed errors. Reads of absent resources
// answer null rather than throwing.
// Over 300 lines for a reason: one method per GCE call the provider makes, and the one call path they share.
import {
  AddressesClient,
  FirewallsClient,
  ForwardingRulesClient,
  GlobalOperationsClient,
  InstancesClient,
  type protos,
  RegionOperationsClient,
  TargetPoolsClient,
} from '@google-cloud/compute';
import { isNotFound, OperationError, toProviderError } from './errors.ts';
import { type AuthFetcher, type HttpHealthCheck, HttpHealthChecks, type RestOperation } from './http-health-checks.ts';
import { type CallGroup, Limiters, type LimitsConfig, type Priority } from './limits.ts';
import { READ_RETRY, type ReadRetry, retryingRead } from './read-retry.ts';

type v1 = typeof protos.google.cloud.compute.v1;
export type Address = protos.google.cloud.compute.v1.IAddress;
export type Firewall = protos.google.cloud.compute.v1.IFirewall;
export type TargetPool = protos.google.cloud.compute.v1.ITargetPool;
export type ForwardingRule = protos.google.cloud.compute.v1.IForwardingRule;
export type { HttpHealthCheck };

type Op = protos.google.cloud.compute.v1.IOperation;

export interface GceEndpoint {
  apiEndpoint: string;
  port: number;
  protocol: 'http' | 'https';
}

export interface GceOptions {
  project: string;
  region: string;
  endpoint: GceEndpoint | undefined;
  limits: LimitsConfig;
  /** google-auth-library GoogleAuth (ADC) or, for the fake, a PassThroughClient. */
  auth: AuthFetcher;
  /** How reads (gets, list pages, operation waits) are retried on 5xx; see READ_RETRY. */
  readRetry?: ReadRetry;
  /** Reports each call group's adaptive rate (calls per second) when it changes. */
  onRate?: (group: CallGroup, rate: number) => void;
}

/** Per call: the caller's signal and how urgent it is. */
export interface Call {
  signal: AbortSignal;
  priority: Priority;
}

export class Gce {
  readonly project: string;
  readonly region: string;
  protected readonly limiters: Limiters;
  /** What every gax client of this project is built with (see gce-backends.ts). */
  protected readonly clientOptions: ConstructorParameters<typeof AddressesClient>[0];
  private readonly addresses: AddressesClient;
  private readonly firewalls: FirewallsClient;
  private readonly rules: ForwardingRulesClient;
  private readonly pools: TargetPoolsClient;
  private readonly instances: InstancesClient;
  private readonly regionOps: RegionOperationsClient;
  private readonly globalOps: GlobalOperationsClient;
  private readonly healthChecks: HttpHealthChecks;
  private readonly readRetry: ReadRetry;

  constructor(options: GceOptions) {
    this.project = options.project;
    this.region = options.region;
    this.readRetry = options.readRetry ?? READ_RETRY;
    this.limiters = new Limiters(options.limits, options.onRate);
    const isPassThrough = options.endpoint?.protocol === 'http';
    const clientOptions = {
      projectId: options.project,
      ...(options.endpoint ?? {}),
      ...(isPassThrough ? { authClient: options.auth } : { auth: options.auth }),
    } as ConstructorParameters<typeof AddressesClient>[0];
    this.clientOptions = clientOptions;
    this.addresses = new AddressesClient(clientOptions);
    this.firewalls = new FirewallsClient(clientOptions);
    this.rules = new ForwardingRulesClient(clientOptions);
    this.pools = new TargetPoolsClient(clientOptions);
    this.instances = new InstancesClient(clientOptions);
    this.regionOps = new RegionOperationsClient(clientOptions);
    this.globalOps = new GlobalOperationsClient(clientOptions);
    const root = options.endpoint
      ? `${options.endpoint.protocol}://${options.endpoint.apiEndpoint}:${options.endpoint.port}`
      : 'https://compute.googleapis.com';
    this.healthChecks = new HttpHealthChecks(options.auth, root, options.project);
  }

  async close(): Promise<void> {
    await this.limiters.stop();
    await Promise.all(
      [this.addresses, this.firewalls, this.rules, this.pools, this.instances, this.regionOps, this.globalOps].map(
        (c) => c.close(),
      ),
    );
  }

  // ---- regional addresses ----
  getAddress = (name: string, c: Call) =>
    this.read(`addresses/${name}`, c, (o) => this.addresses.get({ ...this.r, address: name }, o));
  listAddresses = (c: Call) =>
    this.list('addresses', c, (pageToken, o) => this.addresses.list({ ...this.r, pageToken }, o));
  insertAddress = (address: Address, c: Call) =>
    this.regional(`insert addresses/${address.name}`, c, (o) =>
      this.addresses.insert({ ...this.r, addressResource: address }, o),
    );
  deleteAddress = (name: string, c: Call) =>
    this.regional(`delete addresses/${name}`, c, (o) => this.addresses.delete({ ...this.r, address: name }, o));

  // ---- forwarding rules ----
  getRule = (name: string, c: Call) =>
    this.read(`forwardingRules/${name}`, c, (o) => this.rules.get({ ...this.r, forwardingRule: name }, o));
  listRules = (c: Call) =>
    this.list('forwardingRules', c, (pageToken, o) => this.rules.list({ ...this.r, pageToken }, o));
  insertRule = (rule: ForwardingRule, c: Call) =>
    this.regional(`insert forwardingRules/${rule.name}`, c, (o) =>
      this.rules.insert({ ...this.r, forwardingRuleResource: rule }, o),
    );
  deleteRule = (name: string, c: Call) =>
    this.regional(`delete forwardingRules/${name}`, c, (o) =>
      this.rules.delete({ ...this.r, forwardingRule: name }, o),
    );

  // ---- target pools ----
  getPool = (name: string, c: Call) =>
    this.read(`targetPools/${name}`, c, (o) => this.pools.get({ ...this.r, targetPool: name }, o));
  listPools = (c: Call) => this.list('targetPools', c, (pageToken, o) => this.pools.list({ ...this.r, pageToken }, o));
  insertPool = (pool: TargetPool, c: Call) =>
    this.regional(`insert targetPools/${pool.name}`, c, (o) =>
      this.pools.insert({ ...this.r, targetPoolResource: pool }, o),
    );
  deletePool = (name: string, c: Call) =>
    this.regional(`delete targetPools/${name}`, c, (o) => this.pools.delete({ ...this.r, targetPool: name }, o));
  addInstances = (pool: string, instances: string[], c: Call) =>
    this.regional(`addInstance targetPools/${pool}`, c, (o) =>
      this.pools.addInstance(
        {
          ...this.r,
          targetPool: pool,
          targetPoolsAddInstanceRequestResource: { instances: instances.map((instance) => ({ instance })) },
        },
        o,
      ),
    );
  removeInstances = (pool: string, instances: string[], c: Call) =>
    this.regional(`removeInstance targetPools/${pool}`, c, (o) =>
      this.pools.removeInstance(
        {
          ...this.r,
          targetPool: pool,
          targetPoolsRemoveInstanceRequestResource: { instances: instances.map((instance) => ({ instance })) },
        },
        o,
      ),
    );

  // ---- firewalls (global) ----
  getFirewall = (name: string, c: Call) =>
    this.read(`firewalls/${name}`, c, (o) => this.firewalls.get({ project: this.project, firewall: name }, o));
  listFirewalls = (c: Call) =>
    this.list('firewalls', c, (pageToken, o) => this.firewalls.list({ project: this.project, pageToken }, o));
  insertFirewall = (firewall: Firewall, c: Call) =>
    this.global(`insert firewalls/${firewall.name}`, c, (o) =>
      this.firewalls.insert({ project: this.project, firewallResource: firewall }, o),
    );
  patchFirewall = (firewall: Firewall, c: Call) =>
    this.global(`patch firewalls/${firewall.name}`, c, (o) =>
      this.firewalls.patch({ project: this.project, firewall: firewall.name!, firewallResource: firewall }, o),
    );
  deleteFirewall = (name: string, c: Call) =>
    this.global(`delete firewalls/${name}`, c, (o) =>
      this.firewalls.delete({ project: this.project, firewall: name }, o),
    );

  // ---- legacy HTTP health checks (global, REST) ----
  getHealthCheck = (name: string, c: Call) =>
    this.read(`httpHealthChecks/${name}`, c, () => this.healthChecks.get(name, c.signal).then((hc) => [hc]));
  listHealthChecks = (c: Call) =>
    this.list('httpHealthChecks', c, (pageToken) =>
      this.healthChecks.list(pageToken, c.signal).then((page) => [page.items ?? [], null, page]),
    );
  insertHealthCheck = (hc: HttpHealthCheck, c: Call) =>
    this.global(`insert httpHealthChecks/${hc.name}`, c, () => this.healthChecks.insert(hc, c.signal).then(asLro));
  updateHealthCheck = (hc: HttpHealthCheck, c: Call) =>
    this.global(`update httpHealthChecks/${hc.name}`, c, () => this.healthChecks.update(hc, c.signal).then(asLro));
  deleteHealthCheck = (name: string, c: Call) =>
    this.global(`delete httpHealthChecks/${name}`, c, () => this.healthChecks.delete(name, c.signal).then(asLro));

  // ---- instances (zonal) ----
  getInstance = (zone: string, name: string, c: Call) =>
    this.read(`zones/${zone}/instances/${name}`, c, (o) =>
      this.instances.get({ project: this.project, zone, instance: name }, o),
    );

  // ---- plumbing ----

  protected get r() {
    return { project: this.project, region: this.region };
  }

  /**
   * gax call options: the caller's signal, and no retries of its own (the core's queue retries with backoff).
   * `retry: null`, not `maxRetries: 0`: the latter still wraps the call and turns a 503 into a status-less
   * DEADLINE_EXCEEDED ("Exceeded maximum number of retries"), losing what GCE said.
   */
  protected opts(c: Call) {
    return { signal: c.signal, retry: null } as never;
  }

  /**
   * One page per call: gax's `list()` auto-paginates by default (`autoPaginate: true`), all pages inside one
   * limiter slot and lost together on one 5xx. Turned off, each page is its own limited, retried read.
   */
  protected pageOpts(c: Call) {
    return { signal: c.signal, retry: null, autoPaginate: false } as never;
  }

  /** A GET: the resource, or null when GCE says 404. */
  protected async read<T>(what: string, c: Call, fn: (o: never) => Promise<[T, ...unknown[]]>): Promise<T | null> {
    try {
      const [resource] = await this.retryingRead(c, () =>
        this.limiters.run('read', c.priority, c.signal, () => fn(this.opts(c))),
      );
      return resource;
    } catch (error) {
      if (isNotFound(error)) return null;
      throw toProviderError(error, `get ${what}`);
    }
  }

  /** Every page of a list (GCE pages at 500 items by default), following nextPageToken to the end. */
  protected async list<T>(
    what: string,
    c: Call,
    fn: (pageToken: string | undefined, o: never) => Promise<[T[], unknown, unknown]>,
  ): Promise<T[]> {
    const items: T[] = [];
    let pageToken: string | undefined;
    try {
      do {
        const token = pageToken;
        const [page, , raw] = await this.retryingRead(c, () =>
          this.limiters.run('read', c.priority, c.signal, () => fn(token, this.pageOpts(c))),
        );
        items.push(...(page ?? []));
        pageToken = (raw as { nextPageToken?: string | null } | null)?.nextPageToken || undefined;
      } while (pageToken);
      return items;
    } catch (error) {
      throw toProviderError(error, `list ${what}`);
    }
  }

  protected retryingRead<T>(c: Call, read: () => Promise<T>): Promise<T> {
    return retryingRead(this.readRetry, c.signal, read);
  }

  protected regional(what: string, c: Call, fn: (o: never) => Promise<[unknown, ...unknown[]]>): Promise<void> {
    return this.mutate(
      what,
      c,
      fn,
      (name, o) => this.regionOps.wait({ ...this.r, operation: name }, o) as Promise<[Op, ...unknown[]]>,
    );
  }

  protected global(what: string, c: Call, fn: (o: never) => Promise<[unknown, ...unknown[]]>): Promise<void> {
    return this.mutate(
      what,
      c,
      fn,
      (name, o) => this.globalOps.wait({ project: this.project, operation: name }, o) as Promise<[Op, ...unknown[]]>,
    );
  }

  /** Sends the mutation, then waits until its Operation is DONE; an error recorded in it is thrown. */
  protected async mutate(
    what: string,
    c: Call,
    send: (o: never) => Promise<[unknown, ...unknown[]]>,
    wait: (name: string, o: never) => Promise<[Op, ...unknown[]]>,
  ): Promise<void> {
    try {
      const [lro] = await this.limiters.run('write', c.priority, c.signal, () => send(this.opts(c)));
      let op = (lro as { latestResponse: Op }).latestResponse;
      while (String(op.status) !== 'DONE') {
        const name = op.name!;
        [op] = await this.retryingRead(c, () =>
          this.limiters.run('operationRead' satisfies CallGroup, c.priority, c.signal, () => wait(name, this.opts(c))),
        );
      }
      const failure = op.error?.errors?.[0];
      if (failure) {
        const status = op.httpErrorStatusCode ?? 500;
        throw new OperationError(status, failure.message ?? String(failure.code), failure.code ?? undefined);
      }
    } catch (error) {
      throw toProviderError(error, what);
    }
  }
}

/** The REST module answers a plain Operation; shape it like gax's LRO for `mutate`. */
function asLro(op: RestOperation): [unknown] {
  return [{ latestResponse: op }];
}

export type { v1 };
