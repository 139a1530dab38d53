// The GCE calls of the backend-service load balancers (internal passthrough, and external behind
// `cloud.google.com/l4-rbs`): regional backend services and health checks, zonal unmanaged instance groups, and
// subnetworks. Same call path as gce.ts (limiter, signal, operation wait, typed errors).
import {
  InstanceGroupsClient,
  type protos,
  RegionBackendServicesClient,
  RegionHealthChecksClient,
  SubnetworksClient,
  ZoneOperationsClient,
} from '@google-cloud/compute';
import { type Call, Gce, type GceOptions } from './gce.ts';

export type BackendService = protos.google.cloud.compute.v1.IBackendService;
export type HealthCheck = protos.google.cloud.compute.v1.IHealthCheck;
export type InstanceGroup = protos.google.cloud.compute.v1.IInstanceGroup;
export type Subnetwork = protos.google.cloud.compute.v1.ISubnetwork;
type Op = protos.google.cloud.compute.v1.IOperation;

export class GceBackends extends Gce {
  private readonly backendServices: RegionBackendServicesClient;
  private readonly regionHealthChecks: RegionHealthChecksClient;
  private readonly groups: InstanceGroupsClient;
  private readonly subnets: SubnetworksClient;
  private readonly zoneOps: ZoneOperationsClient;

  constructor(options: GceOptions) {
    super(options);
    this.backendServices = new RegionBackendServicesClient(this.clientOptions);
    this.regionHealthChecks = new RegionHealthChecksClient(this.clientOptions);
    this.groups = new InstanceGroupsClient(this.clientOptions);
    this.subnets = new SubnetworksClient(this.clientOptions);
    this.zoneOps = new ZoneOperationsClient(this.clientOptions);
  }

  override async close(): Promise<void> {
    await super.close();
    await Promise.all(
      [this.backendServices, this.regionHealthChecks, this.groups, this.subnets, this.zoneOps].map((c) => c.close()),
    );
  }

  // ---- regional backend services ----
  getBackendService = (name: string, c: Call) =>
    this.read(`backendServices/${name}`, c, (o) => this.backendServices.get({ ...this.r, backendService: name }, o));
  listBackendServices = (c: Call) =>
    this.list('backendServices', c, (pageToken, o) => this.backendServices.list({ ...this.r, pageToken }, o));
  insertBackendService = (bs: BackendService, c: Call) =>
    this.regional(`insert backendServices/${bs.name}`, c, (o) =>
      this.backendServices.insert({ ...this.r, backendServiceResource: bs }, o),
    );
  patchBackendService = (bs: BackendService, c: Call) =>
    this.regional(`patch backendServices/${bs.name}`, c, (o) =>
      this.backendServices.patch({ ...this.r, backendService: bs.name!, backendServiceResource: bs }, o),
    );
  deleteBackendService = (name: string, c: Call) =>
    this.regional(`delete backendServices/${name}`, c, (o) =>
      this.backendServices.delete({ ...this.r, backendService: name }, o),
    );

  // ---- regional health checks ----
  getRegionHealthCheck = (name: string, c: Call) =>
    this.read(`healthChecks/${name}`, c, (o) => this.regionHealthChecks.get({ ...this.r, healthCheck: name }, o));
  listRegionHealthChecks = (c: Call) =>
    this.list('healthChecks', c, (pageToken, o) => this.regionHealthChecks.list({ ...this.r, pageToken }, o));
  insertRegionHealthCheck = (hc: HealthCheck, c: Call) =>
    this.regional(`insert healthChecks/${hc.name}`, c, (o) =>
      this.regionHealthChecks.insert({ ...this.r, healthCheckResource: hc }, o),
    );
  patchRegionHealthCheck = (hc: HealthCheck, c: Call) =>
    this.regional(`patch healthChecks/${hc.name}`, c, (o) =>
      this.regionHealthChecks.patch({ ...this.r, healthCheck: hc.name!, healthCheckResource: hc }, o),
    );
  deleteRegionHealthCheck = (name: string, c: Call) =>
    this.regional(`delete healthChecks/${name}`, c, (o) =>
      this.regionHealthChecks.delete({ ...this.r, healthCheck: name }, o),
    );

  // ---- zonal unmanaged instance groups ----
  getGroup = (zone: string, name: string, c: Call) =>
    this.read(`zones/${zone}/instanceGroups/${name}`, c, (o) =>
      this.groups.get({ project: this.project, zone, instanceGroup: name }, o),
    );
  listGroups = (zone: string, c: Call) =>
    this.list(`zones/${zone}/instanceGroups`, c, (pageToken, o) =>
      this.groups.list({ project: this.project, zone, pageToken }, o),
    );
  /** The members' instance URLs (a POST that only reads). */
  groupMembers = async (zone: string, name: string, c: Call): Promise<string[]> => {
    const items = await this.list(`zones/${zone}/instanceGroups/${name}/listInstances`, c, (pageToken, o) =>
      this.groups.listInstances(
        {
          project: this.project,
          zone,
          instanceGroup: name,
          pageToken,
          instanceGroupsListInstancesRequestResource: { instanceState: 'ALL' },
        },
        o,
      ),
    );
    return items.map((i) => i.instance ?? '').filter(Boolean);
  };
  insertGroup = (zone: string, group: InstanceGroup, c: Call) =>
    this.zonal(zone, `insert zones/${zone}/instanceGroups/${group.name}`, c, (o) =>
      this.groups.insert({ project: this.project, zone, instanceGroupResource: group }, o),
    );
  deleteGroup = (zone: string, name: string, c: Call) =>
    this.zonal(zone, `delete zones/${zone}/instanceGroups/${name}`, c, (o) =>
      this.groups.delete({ project: this.project, zone, instanceGroup: name }, o),
    );
  addToGroup = (zone: string, name: string, instances: string[], c: Call) =>
    this.zonal(zone, `addInstances zones/${zone}/instanceGroups/${name}`, c, (o) =>
      this.groups.addInstances(
        {
          project: this.project,
          zone,
          instanceGroup: name,
          instanceGroupsAddInstancesRequestResource: { instances: instances.map((instance) => ({ instance })) },
        },
        o,
      ),
    );
  removeFromGroup = (zone: string, name: string, instances: string[], c: Call) =>
    this.zonal(zone, `removeInstances zones/${zone}/instanceGroups/${name}`, c, (o) =>
      this.groups.removeInstances(
        {
          project: this.project,
          zone,
          instanceGroup: name,
          instanceGroupsRemoveInstancesRequestResource: { instances: instances.map((instance) => ({ instance })) },
        },
        o,
      ),
    );

  // ---- subnetworks (read only) ----
  getSubnetwork = (name: string, c: Call) =>
    this.read(`subnetworks/${name}`, c, (o) => this.subnets.get({ ...this.r, subnetwork: name }, o));

  private zonal(zone: string, what: string, c: Call, fn: (o: never) => Promise<[unknown, ...unknown[]]>) {
    return this.mutate(
      what,
      c,
      fn,
      (name, o) =>
        this.zoneOps.wait({ project: this.project, zone, operation: name }, o) as Promise<[Op, ...unknown[]]>,
    );
  }
}
