// The cloud providers under the chaos suite's faults: the real aws provider against moto and the real gcp provider
// against the GCE fake, each behind the fault proxy (fault-proxy.ts). One cloud per scenario, started at its first
// run and stopped after its last; its Nodes (whose providerIDs name the cloud's instances) live as long.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeSecurityGroupsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { backendGroupName } from '../../providers/aws/names.ts';
import { startGceFake } from '../fakes/gce/server.ts';
import { startMoto } from '../support/moto.ts';
import { awsShapes, type FaultProxy, faultProxy, gceShapes } from './fault-proxy.ts';
import type { ChaosEnv } from './world.ts';

/** The cluster name the cloud controllers run with (it names and tags every cloud resource). */
export const CLOUD_CLUSTER = 'chaos';

export interface CloudRig {
  provider: 'aws' | 'gcp';
  proxy: FaultProxy;
  /** Controller flags that point the provider at the proxy. */
  args: string[];
  /** Load balancers the cloud holds now (read past the proxy). */
  loadBalancers(): Promise<number>;
  /** What the cloud still holds when no Service wants anything: resources, and of those, external addresses. */
  leftovers(): Promise<{ resources: string[]; addresses: number }>;
  close(): Promise<void>;
}

interface CloudNode {
  name: string;
  providerID: string;
  ip: string;
}

async function createNodes(env: ChaosEnv, nodes: CloudNode[]): Promise<void> {
  for (const n of nodes) {
    await env.core.createNode({
      body: {
        metadata: { name: n.name },
        spec: { providerID: n.providerID },
        status: { addresses: [{ type: 'InternalIP', address: n.ip }] },
      },
    });
  }
}

async function deleteNodes(env: ChaosEnv, nodes: CloudNode[]): Promise<void> {
  for (const n of nodes) await env.core.deleteNode({ name: n.name }).catch(() => undefined);
}

function providerConfigFile(provider: string, config: unknown): string {
  const file = join(tmpdir(), `drawbridge-chaos-${provider}-${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ [provider]: config }));
  return file;
}

/** moto (localstack/start) with three instances, the proxy in front, and the matching Nodes. */
export async function startAwsRig(env: ChaosEnv): Promise<CloudRig> {
  // moto checks no credentials, but the SDK's default chain wants some (the controller inherits these).
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  const moto = await startMoto(CLOUD_CLUSTER, ['node-a=10.0.0.10@a', 'node-b=10.0.1.10@b', 'node-c=10.0.0.11@a']);
  const proxy = await faultProxy(moto.endpoint, awsShapes, 11);
  const nodes = Object.entries(moto.seed.nodes).map(([name, n]) => ({
    name: `aws-${name}`,
    providerID: n.providerID,
    ip: n.ip,
  }));
  await createNodes(env, nodes);
  const direct = { region: 'us-east-1', endpoint: moto.endpoint };
  const elb = new ElasticLoadBalancingV2Client(direct);
  const ec2 = new EC2Client(direct);
  // The cluster's one backend group and its two rules on the node group are shared by every Service and stay by
  // design (providers/aws/network.ts); anything else beyond what moto was seeded with is left over.
  const backendName = backendGroupName(CLOUD_CLUSTER);
  const securityLeftovers = async () => {
    const groups = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
    const backend = groups.find((g) => g.GroupName === backendName)?.GroupId;
    const node = groups.find((g) => g.GroupId === moto.seed.nodeSecurityGroup);
    const rules = (node?.IpPermissions ?? []).flatMap((p) => [
      ...(p.IpRanges ?? []).map((r) => `node-sg-rule/${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${r.CidrIp}`),
      ...(p.UserIdGroupPairs ?? [])
        .filter((u) => u.GroupId !== backend)
        .map((u) => `node-sg-rule/${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${u.GroupId}`),
    ]);
    const names = groups.filter((g) => g.GroupName !== backendName).map((g) => `security-group/${g.GroupName}`);
    return [...names, ...rules];
  };
  const baseline = new Set(await securityLeftovers());
  const lbs = async () => (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const file = providerConfigFile('aws', { region: 'us-east-1', endpoint: proxy.endpoint });
  return {
    provider: 'aws',
    proxy,
    args: ['--provider-config', file, '--cluster-name', CLOUD_CLUSTER],
    loadBalancers: async () => (await lbs()).length,
    async leftovers() {
      const groups = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
      const security = (await securityLeftovers()).filter((r) => !baseline.has(r));
      const resources = [
        ...(await lbs()).map((lb) => `loadbalancer/${lb.LoadBalancerName}`),
        ...groups.map((g) => `targetgroup/${g.TargetGroupName}`),
        ...security,
      ];
      return { resources, addresses: 0 }; // an NLB has no address of its own to leak: AWS names it
    },
    async close() {
      elb.destroy();
      ec2.destroy();
      await deleteNodes(env, nodes);
      await proxy.close();
      await moto.stop();
    },
  };
}

const GCP = { project: 'chaos-proj', region: 'us-central1', zone: 'us-central1-a' };

/** The GCE fake (in this process) with three instances, the proxy in front, and the matching Nodes. */
export async function startGcpRig(env: ChaosEnv): Promise<CloudRig> {
  const fake = await startGceFake({ operationMs: 20 });
  const nodes = ['a', 'b', 'c'].map((x, i) => ({
    name: `gce-node-${x}`,
    providerID: `gce://${GCP.project}/${GCP.zone}/gce-node-${x}`,
    ip: `10.128.0.${10 + i}`,
  }));
  for (const n of nodes) fake.seedInstance(GCP.project, GCP.zone, n.name);
  const proxy = await faultProxy(fake.url, gceShapes, 12);
  await createNodes(env, nodes);
  const file = providerConfigFile('gcp', {
    project: GCP.project,
    region: GCP.region,
    endpoint: { apiEndpoint: '127.0.0.1', port: proxy.port, protocol: 'http' },
  });
  return {
    provider: 'gcp',
    proxy,
    args: ['--provider-config', file, '--cluster-name', CLOUD_CLUSTER],
    loadBalancers: async () => fake.compute.paths().filter((p) => p.includes('/forwardingRules/')).length,
    async leftovers() {
      await fake.settled();
      const resources = fake.compute.paths();
      return { resources, addresses: resources.filter((p) => p.includes('/addresses/')).length };
    },
    async close() {
      await deleteNodes(env, nodes);
      await proxy.close();
      await fake.close();
    },
  };
}
