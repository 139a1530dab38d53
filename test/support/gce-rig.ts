// Test plumbing shared by the gcp provider's tests: a GCE fake with seeded instances and a provider pointed at it,
// both stopped when the test file ends.
import { after } from 'node:test';
import { GcpConfigSchema, gcp } from '../../providers/gcp/index.ts';
import type { GcpProvider } from '../../providers/gcp/provider.ts';
import { testContext } from '../conformance/context.ts';
import { node } from '../conformance/suite.ts';
import { type GceFake, type GceFakeOptions, startGceFake } from '../fakes/gce/server.ts';

export const PROJECT = 'proj';
export const REGION = 'us-central1';
export const ZONE = 'us-central1-a';
/** The cluster's shared node health check and its firewall, as the conformance cluster names them. */
export const NODE_HC = `projects/${PROJECT}/global/httpHealthChecks/k8s-conformance-node`;
export const NODE_HC_FW = `projects/${PROJECT}/global/firewalls/k8s-conformance-node-http-hc`;

/** A node whose providerID names an instance the fake holds. */
export const gceNode = (name: string) => ({
  ...node(name, '10.0.0.9'),
  providerID: `gce://${PROJECT}/${ZONE}/${name}`,
});

/** Call once at the top of a test file; `defaults` go into every provider's configuration. */
export function gcpRig(defaults: Record<string, unknown> = {}) {
  const fakes: GceFake[] = [];
  const providers: GcpProvider[] = [];
  after(async () => {
    for (const p of providers) await p.stop();
    for (const f of fakes) await f.close();
  });
  return {
    async fakeWith(options: GceFakeOptions = {}, instances = ['node-a', 'node-b', 'node-c']): Promise<GceFake> {
      const fake = await startGceFake({ operationMs: 4, ...options });
      for (const n of instances) fake.seedInstance(PROJECT, ZONE, n);
      fakes.push(fake);
      return fake;
    },
    async providerFor(fake: GceFake, extra: Record<string, unknown> = {}): Promise<GcpProvider> {
      const config = GcpConfigSchema.parse({
        project: PROJECT,
        region: REGION,
        endpoint: fake.endpoint,
        ...defaults,
        ...extra,
      });
      const provider = (await gcp.create(testContext('gcp').context, config)) as GcpProvider;
      providers.push(provider);
      return provider;
    },
  };
}
