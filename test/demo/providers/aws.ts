// `drawbridge demo --provider aws`: a moto endpoint (localstack/start, token-free), seeded with one EC2 instance
// per demo Node, and a read-back of what the NLB looks like at that endpoint. Loaded only by the demo.

import { fileURLToPath } from 'node:url';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { V1Service } from '@kubernetes/client-node';
import { loadBalancerName } from '../../../providers/aws/names.ts';
import { startMoto } from '../../support/moto.ts';
import { type DemoSetup, DemoUnavailableError } from '../hooks.ts';

const REGION = 'us-east-1';
// LocalStack's port with --keep (so `eval "$(localstack/start)"` finds the same endpoint later); otherwise a free
// port, so a one-shot demo never reuses, and then stops, an endpoint someone else started.
const KEEP_PORT = 4566;
const NODES = ['demo-node-1=10.0.0.10@a', 'demo-node-2=10.0.1.10@b', 'demo-node-3=10.0.0.11@a'];
// localstack/ beside this tree: the checkout's, or the copy the npm package carries in dist/.
const LOCALSTACK_STOP = fileURLToPath(new URL('../../../localstack/stop', import.meta.url));

export async function setUpAwsDemo({ keep }: { keep: boolean }): Promise<DemoSetup> {
  // Dummy credentials for the SDK's default chain: moto checks none, and real ones must never reach it.
  process.env.AWS_ACCESS_KEY_ID ??= 'test';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
  const moto = await startMoto('drawbridge', NODES, keep ? { port: KEEP_PORT } : {}).catch((error) => {
    // localstack/start's last line says what failed (no Python, no pip, moto not answering).
    const why = String((error as { stderr?: string }).stderr ?? (error as Error).message)
      .trim()
      .split('\n')
      .at(-1)
      ?.replace(/^drawbridge: /, '');
    throw new DemoUnavailableError(
      `the aws demo needs moto's server (Python >= 3.10 with pip; installed once into ~/.cache/drawbridge): ${why}`,
    );
  });
  const providerIDs = NODES.map((n) => moto.seed.nodes[n.split('=')[0]!]!.providerID);
  return {
    providerIDs,
    config: { region: REGION, endpoint: moto.endpoint },
    show: (service, clusterName) => {
      const nodeOf = new Map(Object.entries(moto.seed.nodes).map(([node, n]) => [n.instanceId, node]));
      return describeNlb(moto.endpoint, clusterName, service, nodeOf);
    },
    tearDown: () => moto.stop(),
    stopCommand: `DRAWBRIDGE_MOTO_PORT=${new URL(moto.endpoint).port} ${LOCALSTACK_STOP}`,
  };
}

/** The NLB, its listeners and target groups with their targets, as the endpoint reports them. */
async function describeNlb(
  endpoint: string,
  clusterName: string,
  service: Readonly<V1Service>,
  nodeOf: ReadonlyMap<string, string>,
): Promise<string[]> {
  const elb = new ElasticLoadBalancingV2Client({ region: REGION, endpoint });
  try {
    const name = loadBalancerName({ clusterName, uid: service.metadata?.uid ?? '' });
    const lb = (await elb.send(new DescribeLoadBalancersCommand({ Names: [name] }))).LoadBalancers?.[0];
    if (!lb) return [`no load balancer ${name} at ${endpoint}`];
    const out = [
      `load balancer ${lb.LoadBalancerName} (${lb.Type}, ${lb.Scheme}, ${lb.State?.Code}) at ${endpoint}`,
      `  DNS name ${lb.DNSName}`,
      `  subnets  ${(lb.AvailabilityZones ?? []).map((z) => `${z.SubnetId} (${z.ZoneName})`).join(', ')}`,
    ];
    const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners;
    const groups = (await elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: lb.LoadBalancerArn })))
      .TargetGroups;
    for (const l of listeners ?? []) {
      const tg = groups?.find((g) => g.TargetGroupArn === l.DefaultActions?.[0]?.TargetGroupArn);
      out.push(`  listener ${l.Protocol} :${l.Port} -> target group ${tg?.TargetGroupName ?? '?'}`);
      if (!tg) continue;
      const hc = `${tg.HealthCheckProtocol} ${tg.HealthCheckPort}${tg.HealthCheckPath ?? ''} every ${tg.HealthCheckIntervalSeconds}s`;
      out.push(
        `    target group ${tg.TargetGroupName} (${tg.Protocol} :${tg.Port}, ${tg.TargetType}, health check ${hc})`,
      );
      const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }));
      for (const t of health.TargetHealthDescriptions ?? []) {
        const node = nodeOf.get(t.Target?.Id ?? '') ?? '?';
        out.push(`      target ${t.Target?.Id}:${t.Target?.Port} (${node}) ${t.TargetHealth?.State}`);
      }
    }
    return out;
  } finally {
    elb.destroy();
  }
}
