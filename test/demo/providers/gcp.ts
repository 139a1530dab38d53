// `drawbridge demo --provider gcp`: the GCE fake (test/fakes/gce) stands in for Compute Engine, holding one
// instance per demo Node; the controller talks Compute REST to it exactly as it would to Google. What the demo
// prints about the load balancer is read back from the fake over HTTP, not from the provider's memory.
import type { V1Service } from '@kubernetes/client-node';
import type { DemoHooks } from '../hooks.ts';

const PROJECT = 'demo-project';
const REGION = 'us-central1';
const ZONE = 'us-central1-a';

type Json = Record<string, unknown>;

export const gcpDemo: DemoHooks = {
  describe: `the GCE fake (project ${PROJECT}, ${REGION}) holding instances for the demo Nodes`,
  providerID: (node) => `gce://${PROJECT}/${ZONE}/${node}`,
  backend: {
    config: (port) => ({
      project: PROJECT,
      region: REGION,
      endpoint: { apiEndpoint: '127.0.0.1', port, protocol: 'http' },
    }),
    start: async (port, nodes) => {
      // Loaded only here: the fake is test code, never part of a controller that is not running the demo.
      const { startGceFake } = await import('../../fakes/gce/server.ts');
      const fake = await startGceFake({ port, operationMs: 100 });
      for (const node of nodes) fake.seedInstance(PROJECT, ZONE, node);
      return { stop: () => fake.close() };
    },
  },
  show: async (service, config) => {
    const endpoint = config.endpoint as { apiEndpoint: string; port: number };
    return describe(`http://${endpoint.apiEndpoint}:${endpoint.port}/compute/v1/projects/${PROJECT}`, service);
  },
};

/** The Service's forwarding rule, target pool, health check and firewalls, as the Compute API lists them. */
async function describe(base: string, service: V1Service): Promise<string[]> {
  // Every page (GCE pages lists at 500 items), following nextPageToken.
  const list = async (collection: string) => {
    const items: Json[] = [];
    let token: string | undefined;
    do {
      const query = token ? `?pageToken=${encodeURIComponent(token)}` : '';
      const page = (await (await fetch(`${base}/${collection}${query}`)).json()) as {
        items?: Json[];
        nextPageToken?: string;
      };
      items.push(...(page.items ?? []));
      token = page.nextPageToken;
    } while (token);
    return items;
  };
  const uid = service.metadata?.uid ?? '?';
  const ours = (r: Json) => String(r.description ?? '').includes(uid);
  const last = (url: unknown) => String(url).split('/').at(-1);
  const [rules, pools, checks, firewalls] = await Promise.all([
    list(`regions/${REGION}/forwardingRules`),
    list(`regions/${REGION}/targetPools`),
    list('global/httpHealthChecks'),
    list('global/firewalls'),
  ]);
  const rule = rules.find(ours);
  const pool = pools.find(ours);
  const checkName = last((pool?.healthChecks as string[] | undefined)?.[0]);
  const check = checks.find((c) => c.name === checkName);
  const lines = [`GCE (the fake's Compute API, project ${PROJECT}):`];
  if (rule) {
    lines.push(
      `  forwardingRule ${rule.name}: ${rule.IPAddress} ${rule.IPProtocol} ${rule.portRange} ` +
        `${rule.loadBalancingScheme} ${rule.networkTier} -> targetPool ${last(rule.target)}`,
    );
  }
  if (pool) {
    lines.push(`  targetPool ${pool.name}: sessionAffinity ${pool.sessionAffinity}, healthCheck ${checkName}`);
    for (const i of (pool.instances as string[] | undefined) ?? [])
      lines.push(`    instance ${i.split('/projects/')[1]}`);
  }
  if (check) {
    lines.push(
      `  httpHealthCheck ${check.name}: :${check.port}${check.requestPath} every ${check.checkIntervalSec}s, ` +
        `timeout ${check.timeoutSec}s, healthy ${check.healthyThreshold}, unhealthy ${check.unhealthyThreshold}`,
    );
  }
  const lbName = String(pool?.name ?? rule?.name ?? '?');
  for (const fw of firewalls.filter(
    (f) => ours(f) || f.name === `${checkName}-http-hc` || String(f.name).includes(lbName),
  )) {
    const allowed = ((fw.allowed as { IPProtocol: string; ports?: string[] }[]) ?? [])
      .map((a) => `${a.IPProtocol}:${(a.ports ?? []).join(',')}`)
      .join(' ');
    const to = (fw.destinationRanges as string[] | undefined)?.join(',') ?? 'all instances';
    lines.push(`  firewall ${fw.name}: allow ${allowed} from ${(fw.sourceRanges as string[]).join(',')} to ${to}`);
  }
  return lines;
}
