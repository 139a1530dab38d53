// What exists in GCE for one load balancer (its rule, pool, address, health check and firewalls, read at once), and
// the instance URLs of a spec's nodes.
import type { LoadBalancerSpec, LogPort } from '../../src/contract/provider.ts';
import { type DesiredLoadBalancer, instanceFromProviderId } from './desired.ts';
import type { Address, Call, Firewall, ForwardingRule, Gce, HttpHealthCheck, TargetPool } from './gce.ts';
import { URL_BASE } from './resources.ts';

/** What exists for one load balancer. */
export interface Observed {
  rule: ForwardingRule | null;
  pool: TargetPool | null;
  address: Address | null;
  healthCheck: HttpHealthCheck | null;
  healthCheckFirewall: Firewall | null;
  trafficFirewall: Firewall | null;
}

export async function observe(gce: Gce, desired: DesiredLoadBalancer, call: Call): Promise<Observed> {
  const { names, healthCheck } = desired;
  const [rule, pool, address, hc, hcFirewall, trafficFirewall] = await Promise.all([
    gce.getRule(names.lb, call),
    gce.getPool(names.lb, call),
    gce.getAddress(names.lb, call),
    gce.getHealthCheck(healthCheck.name, call),
    gce.getFirewall(healthCheck.firewall, call),
    gce.getFirewall(names.trafficFirewall, call),
  ]);
  return { rule, pool, address, healthCheck: hc, healthCheckFirewall: hcFirewall, trafficFirewall };
}

/** Instance URLs of a spec's nodes: from gce:// providerIDs, else looked up by node name in `zones`. */
export class TargetInstances {
  /** Node name -> instance path, for nodes without a gce:// providerID (instances never change zone). */
  private readonly cache = new Map<string, string>();
  private readonly gce: Gce;
  private readonly zones: readonly string[];
  private readonly log: LogPort;

  constructor(gce: Gce, zones: readonly string[], log: LogPort) {
    this.gce = gce;
    this.zones = zones;
    this.log = log;
  }

  async resolve(spec: Readonly<LoadBalancerSpec>, call: Call): Promise<string[]> {
    const paths: string[] = [];
    for (const node of spec.nodes) {
      const fromId = instanceFromProviderId(node.providerID);
      let path = fromId?.path ?? this.cache.get(node.name);
      if (!path && !fromId) {
        for (const zone of this.zones) {
          const instance = await this.gce.getInstance(zone, node.name, call);
          if (instance) {
            path = `projects/${this.gce.project}/zones/${zone}/instances/${node.name}`;
            this.cache.set(node.name, path);
            break;
          }
        }
      }
      if (path) paths.push(`${URL_BASE}${path}`);
      else this.log.warn({ node: node.name }, 'node has no GCE instance (no gce:// providerID, not found in zones)');
    }
    return [...new Set(paths)].sort();
  }
}
