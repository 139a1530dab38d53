import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { testContext } from '../../test/conformance/context.ts';
import { baseSpec, node, providerConformance } from '../../test/conformance/suite.ts';
import type { LoadBalancerSpec } from '../provider.ts';
import type { AwsOptions } from './annotations.ts';
import { AwsConfigSchema, aws } from './index.ts';
import { mutations, recordingProxy, startMoto } from './moto.testing.ts';
import type { AwsProvider } from './provider.ts';

// Conformance nodes are named node-a/b/c at 10.0.0.1-3 with no providerID: the seed puts instances at those IPs,
// so they resolve by InternalIP; node-d stands in for a node that joins later (by providerID).
const moto = await startMoto('conformance', [
  'node-a=10.0.0.1@a',
  'node-b=10.0.0.2@a',
  'node-c=10.0.0.3@a',
  'node-d=10.0.1.4@b',
]);
const proxy = await recordingProxy(moto.endpoint);
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
const provider = (await aws.create(
  testContext('aws').context,
  AwsConfigSchema.parse({ region: 'us-east-1', endpoint: proxy.endpoint }),
)) as AwsProvider;
after(async () => {
  await provider.stop();
  await proxy.close();
  await moto.stop();
});
const live = () => ({ signal: new AbortController().signal });
const options: AwsOptions = { scheme: 'internet-facing', subnets: null, healthCheck: {}, extraTags: {} };
const spec = (n: number): LoadBalancerSpec<AwsOptions> => ({ ...baseSpec(n), providerOptions: options });

/** Everything in moto that is ours: NLBs, target groups (with targets) and our SG rules. */
async function resources(): Promise<string[]> {
  const { ElasticLoadBalancingV2Client, DescribeLoadBalancersCommand, DescribeTargetGroupsCommand } = await import(
    '@aws-sdk/client-elastic-load-balancing-v2'
  );
  const { EC2Client, DescribeSecurityGroupsCommand } = await import('@aws-sdk/client-ec2');
  const cfg = { region: 'us-east-1', endpoint: moto.endpoint };
  const elb = new ElasticLoadBalancingV2Client(cfg);
  const ec2 = new EC2Client(cfg);
  const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const sgs =
    (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [moto.seed.nodeSecurityGroup] }))).SecurityGroups ??
    [];
  const rules = sgs.flatMap((g) =>
    (g.IpPermissions ?? []).flatMap((p) =>
      (p.IpRanges ?? [])
        .filter((r) => r.Description?.startsWith('drawbridge.io/'))
        .map((r) => `rule:${p.IpProtocol}:${p.FromPort}:${r.CidrIp}:${r.Description}`),
    ),
  );
  elb.destroy();
  ec2.destroy();
  return [...lbs.map((l) => `lb:${l.LoadBalancerName}`), ...tgs.map((t) => `tg:${t.TargetGroupName}`), ...rules].sort();
}

providerConformance('aws', {
  provider: () => provider,
  spec,
  // An NLB with instance targets cannot serve SCTP: refused before any call.
  invalidSpec: () => ({ ...spec(501), ports: [{ name: 'sctp', protocol: 'SCTP', port: 9, nodePort: 30999 }] }),
  resources,
});

describe('aws provider against moto: mutating calls counted at the endpoint', () => {
  test('create, node join, node leave, unchanged resync, delete', async () => {
    const s = spec(700);
    const count = async (fn: () => Promise<unknown>) => {
      const from = proxy.actions.length;
      await fn();
      return mutations(proxy.actions.slice(from));
    };
    assert.deepEqual(await count(() => provider.ensure(s, live())), {
      CreateLoadBalancer: 1,
      CreateTargetGroup: 1,
      RegisterTargets: 1,
      CreateListener: 1,
      AuthorizeSecurityGroupIngress: 1,
    });
    const d = moto.seed.nodes['node-d']!;
    const joined = { ...s, nodes: [...s.nodes, { ...node('node-d', d.ip), providerID: d.providerID }] };
    assert.deepEqual(await count(() => provider.updateHosts(joined, live())), { RegisterTargets: 1 });
    assert.deepEqual(await count(() => provider.updateHosts(s, live())), { DeregisterTargets: 1 });
    assert.deepEqual(await count(() => provider.ensure(s, live())), {}, 'a converged Service costs no write');
    assert.deepEqual(await count(() => provider.ensureDeleted(s.identity, live())), {
      DeleteListener: 1,
      DeleteLoadBalancer: 1,
      DeleteTargetGroup: 1,
      RevokeSecurityGroupIngress: 1,
    });
  });
});
