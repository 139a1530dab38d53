// The listener, attribute and address annotations, Node notices and the backend group's deletion, against moto.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import * as ec2 from '@aws-sdk/client-ec2';
import * as elbv2 from '@aws-sdk/client-elastic-load-balancing-v2';
import type { LoadBalancerSpec } from '../../src/contract/provider.ts';
import { testContext } from '../../test/conformance/context.ts';
import { baseSpec, node } from '../../test/conformance/suite.ts';
import { issueCertificate, mutations, recordingProxy, startMoto } from '../../test/support/moto.ts';
import type { AwsOptions } from './annotations.ts';
import { AwsConfigSchema, aws } from './index.ts';
import { backendGroupName, loadBalancerName } from './names.ts';
import type { AwsProvider } from './provider.ts';

// The cluster of testContext(): the seed tags the subnets and the node group for it.
const CLUSTER = 'conformance';
const moto = await startMoto(CLUSTER, ['node-a=10.0.0.1@a', 'node-b=10.0.0.2@a']);
const proxy = await recordingProxy(moto.endpoint);
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
const t = testContext('aws');
const provider = (await aws.create(
  t.context,
  AwsConfigSchema.parse({ region: 'us-east-1', endpoint: proxy.endpoint }),
)) as AwsProvider;
const cfg = { region: 'us-east-1', endpoint: moto.endpoint };
const elb = new elbv2.ElasticLoadBalancingV2Client(cfg);
const ec2c = new ec2.EC2Client(cfg);
after(async () => {
  elb.destroy();
  ec2c.destroy();
  await provider.stop();
  await proxy.close();
  await moto.stop();
});
const live = () => ({ signal: new AbortController().signal });
const options: AwsOptions = {
  scheme: 'internet-facing',
  subnets: null,
  healthCheck: {},
  extraTags: {},
  crossZone: false,
  targetNodeLabels: {},
  eipAllocations: null,
  tls: null,
  proxyProtocol: false,
  targetGroupAttributes: {},
  loadBalancerAttributes: {},
  ipAddressType: 'ipv4',
};
const seeded = (name: string) => ({
  ...node(name, moto.seed.nodes[name]!.ip),
  providerID: moto.seed.nodes[name]!.providerID,
});
const spec = (n: number, o: Partial<AwsOptions> = {}): LoadBalancerSpec<AwsOptions> => ({
  ...baseSpec(n, CLUSTER),
  nodes: [seeded('node-a'), seeded('node-b')],
  providerOptions: { ...options, ...o },
});
const count = async (fn: () => Promise<unknown>) => {
  const from = proxy.actions.length;
  await fn();
  return mutations(proxy.actions.slice(from));
};
const lbOf = async (s: LoadBalancerSpec<AwsOptions>) =>
  (await elb.send(new elbv2.DescribeLoadBalancersCommand({ Names: [loadBalancerName(s.identity)] })))
    .LoadBalancers![0]!;
const listenerOf = async (s: LoadBalancerSpec<AwsOptions>) =>
  (await elb.send(new elbv2.DescribeListenersCommand({ LoadBalancerArn: (await lbOf(s)).LoadBalancerArn })))
    .Listeners![0]!;
async function groupAttributes(s: LoadBalancerSpec<AwsOptions>) {
  const tg = (
    await elb.send(new elbv2.DescribeTargetGroupsCommand({ LoadBalancerArn: (await lbOf(s)).LoadBalancerArn }))
  ).TargetGroups![0]!;
  const res = await elb.send(new elbv2.DescribeTargetGroupAttributesCommand({ TargetGroupArn: tg.TargetGroupArn }));
  return Object.fromEntries((res.Attributes ?? []).map((a) => [a.Key, a.Value]));
}

describe('aws provider: TLS, attributes, addresses, notices', { concurrency: false }, () => {
  test('TLS listener with an ACM certificate and a policy; a policy change is one ModifyListener', async () => {
    const cert = await issueCertificate(moto.endpoint, 'tls.example.com');
    const tls = { certificates: [cert], ports: null, policy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' };
    const s = spec(1, { tls });
    await provider.ensure(s, live());
    const l = await listenerOf(s);
    assert.equal(l.Protocol, 'TLS');
    assert.equal(l.SslPolicy, tls.policy);
    assert.equal(l.Certificates?.[0]?.CertificateArn, cert);
    assert.deepEqual(await count(() => provider.ensure(s, live())), {}, 'converged: no write');
    const changed = spec(1, { tls: { ...tls, policy: 'ELBSecurityPolicy-2016-08' } });
    assert.deepEqual(await count(() => provider.ensure(changed, live())), { ModifyListener: 1 });
    assert.equal((await listenerOf(s)).SslPolicy, 'ELBSecurityPolicy-2016-08');
    // TCP <-> TLS on an existing listener is one ModifyListener on AWS; moto refuses ModifyListener to or from TLS
    // (UnsupportedProtocol), so that switch is not exercised here.
    await provider.ensureDeleted(s.identity, live());
  });

  test('proxy protocol and target-group attributes are set, and go back to the defaults when removed', async () => {
    const want = { 'proxy_protocol_v2.enabled': 'true', 'deregistration_delay.timeout_seconds': '30' };
    const s = spec(2, { proxyProtocol: true, targetGroupAttributes: want });
    await provider.ensure(s, live());
    const set = await groupAttributes(s);
    assert.equal(set['proxy_protocol_v2.enabled'], 'true');
    assert.equal(set['deregistration_delay.timeout_seconds'], '30');
    assert.deepEqual(await count(() => provider.ensure(s, live())), {});
    assert.deepEqual(await count(() => provider.ensure(spec(2), live())), { ModifyTargetGroupAttributes: 1 });
    const reset = await groupAttributes(s);
    assert.equal(reset['proxy_protocol_v2.enabled'], 'false');
    assert.equal(reset['deregistration_delay.timeout_seconds'], '300');
    const lbAttrs = spec(2, { loadBalancerAttributes: { 'deletion_protection.enabled': 'false' }, crossZone: true });
    assert.deepEqual(await count(() => provider.ensure(lbAttrs, live())), { ModifyLoadBalancerAttributes: 1 });
    await provider.ensureDeleted(s.identity, live());
  });

  test('a changed eip-allocations is refused with one Warning (not one per resync) and no write', async () => {
    const alloc = async () => (await ec2c.send(new ec2.AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
    const [first, second] = [await alloc(), await alloc()];
    const s = spec(3, { eipAllocations: [first] });
    await provider.ensure(s, live());
    const changed = spec(3, { eipAllocations: [second] });
    assert.deepEqual(await count(() => provider.ensure(changed, live())), {});
    await provider.ensure(changed, live());
    const warnings = t.events.filter((e) => e.reason === 'EipAllocationsImmutable');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!.message, /must be recreated/);
    await provider.ensureDeleted(s.identity, live());
  });

  test('a Node left out of the targets is a Warning naming it and why, once per change', async () => {
    const ghost = { ...node('ghost', '10.9.9.9'), providerID: 'aws:///us-east-1a/i-0123456789abcdef0' };
    const noId = node('bare', '10.9.9.8');
    const s = { ...spec(4), nodes: [seeded('node-a'), ghost, noId] };
    await provider.ensure(s, live());
    await provider.ensure(s, live());
    const notes = t.events.filter((e) => e.reason === 'NodeNotTargeted').map((e) => e.message);
    assert.equal(notes.length, 2);
    assert.match(notes.join('\n'), /node ghost is not a target: instance i-0123456789abcdef0 .* not found/);
    assert.match(notes.join('\n'), /node bare is not a target: no providerID/);
    await provider.ensureDeleted(s.identity, live());
  });

  test('our groups carry kubernetes.io/cluster/<name>=owned; the last Service takes the backend group', async () => {
    const [a, b] = [spec(5), spec(6)];
    await provider.ensure(a, live());
    await provider.ensure(b, live());
    const backend = async () =>
      (
        await ec2c.send(
          new ec2.DescribeSecurityGroupsCommand({
            Filters: [{ Name: 'group-name', Values: [backendGroupName(CLUSTER)] }],
          }),
        )
      ).SecurityGroups ?? [];
    const [group] = await backend();
    assert.ok(group?.Tags?.some((x) => x.Key === `kubernetes.io/cluster/${CLUSTER}` && x.Value === 'owned'));
    const own = await ec2c.send(
      new ec2.DescribeSecurityGroupsCommand({
        Filters: [{ Name: 'group-name', Values: [loadBalancerName(a.identity)] }],
      }),
    );
    assert.ok(own.SecurityGroups?.[0]?.Tags?.some((x) => x.Key === `kubernetes.io/cluster/${CLUSTER}`));
    await provider.ensureDeleted(a.identity, live());
    assert.equal((await backend()).length, 1, 'another Service still uses it');
    const last = await count(() => provider.ensureDeleted(b.identity, live()));
    assert.equal(last.DeleteSecurityGroup, 2, 'its own group and the backend group');
    assert.equal(last.RevokeSecurityGroupIngress, 1, 'the backend rules of the node group');
    assert.deepEqual(await backend(), []);
    const node = await ec2c.send(new ec2.DescribeSecurityGroupsCommand({ GroupIds: [moto.seed.nodeSecurityGroup] }));
    assert.ok(!node.SecurityGroups?.[0]?.IpPermissions?.some((p) => p.UserIdGroupPairs?.length));
  });
});
