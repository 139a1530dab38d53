// Over 300 lines: the aws provider's cases against moto, one per annotation and lifecycle step, sharing one moto.
import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import type { LoadBalancerSpec } from '../../src/contract/provider.ts';
import { testContext } from '../../test/conformance/context.ts';
import { baseSpec, node, providerConformance } from '../../test/conformance/suite.ts';
import { mutations, recordingProxy, startMoto } from '../../test/support/moto.ts';
import type { AwsOptions } from './annotations.ts';
import { AwsConfigSchema, aws } from './index.ts';
import { backendGroupName, loadBalancerName, ownerTags, TagKeys, toAwsTags } from './names.ts';
import type { AwsProvider } from './provider.ts';

// Conformance nodes are named node-a/b/c at 10.0.0.1-3 with no providerID: the seed puts instances at those IPs,
// so they resolve by InternalIP; node-d (zone b) and node-e (zone a) stand in for nodes that join later (by
// providerID).
const moto = await startMoto('conformance', [
  'node-a=10.0.0.1@a',
  'node-b=10.0.0.2@a',
  'node-c=10.0.0.3@a',
  'node-d=10.0.1.4@b',
  'node-e=10.0.0.5@a',
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
const spec = (n: number, o: Partial<AwsOptions> = {}): LoadBalancerSpec<AwsOptions> => ({
  ...baseSpec(n),
  providerOptions: { ...options, ...o },
});
/** A seeded node joining by providerID. */
const seeded = (name: string) => ({
  ...node(name, moto.seed.nodes[name]!.ip),
  providerID: moto.seed.nodes[name]!.providerID,
});
const count = async (fn: () => Promise<unknown>) => {
  const from = proxy.actions.length;
  await fn();
  return mutations(proxy.actions.slice(from));
};

/** Read straight from moto (not through the proxy): the NLB's subnets, attributes and each group's targets. */
async function nlbState(s: LoadBalancerSpec<AwsOptions>) {
  const elbv2 = await import('@aws-sdk/client-elastic-load-balancing-v2');
  const elb = new elbv2.ElasticLoadBalancingV2Client({ region: 'us-east-1', endpoint: moto.endpoint });
  try {
    const name = loadBalancerName(s.identity);
    const lb = (await elb.send(new elbv2.DescribeLoadBalancersCommand({}))).LoadBalancers?.find(
      (l) => l.LoadBalancerName === name,
    );
    if (!lb) return null;
    const attrs = await elb.send(
      new elbv2.DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: lb.LoadBalancerArn }),
    );
    const groups = (await elb.send(new elbv2.DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
    const targets: string[] = [];
    for (const g of groups.filter((t) => t.TargetGroupName?.startsWith(`${name}-`))) {
      const h = await elb.send(new elbv2.DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
      targets.push(...(h.TargetHealthDescriptions ?? []).map((d) => d.Target!.Id!));
    }
    const ids = Object.fromEntries(Object.entries(moto.seed.nodes).map(([n, v]) => [v.instanceId, n]));
    return {
      subnets: (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!).sort(),
      crossZone: attrs.Attributes?.find((a) => a.Key === 'load_balancing.cross_zone.enabled')?.Value,
      targets: targets.map((t) => ids[t] ?? t).sort(),
    };
  } finally {
    elb.destroy();
  }
}

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
  // The NLBs' own (frontend) groups; the cluster's backend group is shared and stays.
  const frontends = (
    (await ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'tag-key', Values: [TagKeys.uid] }] })))
      .SecurityGroups ?? []
  ).map((g) => `sg:${g.GroupName}`);
  elb.destroy();
  ec2.destroy();
  return [
    ...lbs.map((l) => `lb:${l.LoadBalancerName}`),
    ...tgs.map((t) => `tg:${t.TargetGroupName}`),
    ...rules,
    ...frontends,
  ].sort();
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
    assert.deepEqual(await count(() => provider.ensure(s, live())), {
      CreateLoadBalancer: 1,
      CreateTargetGroup: 1,
      RegisterTargets: 1,
      CreateListener: 1,
      CreateSecurityGroup: 1, // the NLB's own; the cluster's backend group exists since the first Service
      AuthorizeSecurityGroupIngress: 1,
    });
    // node-e is in the zone the NLB already serves: membership only.
    const joined = { ...s, nodes: [...s.nodes, seeded('node-e')] };
    assert.deepEqual(await count(() => provider.updateHosts(joined, live())), { RegisterTargets: 1 });
    assert.deepEqual(await count(() => provider.updateHosts(s, live())), { DeregisterTargets: 1 });
    assert.deepEqual(await count(() => provider.ensure(s, live())), {}, 'a converged Service costs no write');
    assert.deepEqual(await count(() => provider.ensureDeleted(s.identity, live())), {
      DeleteListener: 1,
      DeleteLoadBalancer: 1,
      DeleteTargetGroup: 1,
      DeleteSecurityGroup: 1,
    });
  });
});

describe('aws provider against moto: subnets per zone, cross-zone, target-node-labels, Elastic IPs', () => {
  const subnet = (zone: 'a' | 'b') => moto.seed.subnets[zone]!;

  test('a node joining in a zone the NLB does not serve extends its subnets (SetSubnets), once', async () => {
    const s = spec(710); // node-a, node-b: both in zone a
    await provider.ensure(s, live());
    assert.deepEqual((await nlbState(s))?.subnets, [subnet('a')]);
    const joined = { ...s, nodes: [...s.nodes, seeded('node-d')] }; // zone b
    assert.deepEqual(await count(() => provider.updateHosts(joined, live())), { SetSubnets: 1, RegisterTargets: 1 });
    const after = await nlbState(s);
    assert.deepEqual(after?.subnets, [subnet('a'), subnet('b')].sort());
    assert.deepEqual(after?.targets, ['node-a', 'node-b', 'node-d']);
    assert.deepEqual(await count(() => provider.ensure(joined, live())), {}, 'both zones served: nothing to write');
    // node-d leaves: its zone stays (connections in flight), only the target goes.
    assert.deepEqual(await count(() => provider.updateHosts(s, live())), { DeregisterTargets: 1 });
    assert.deepEqual((await nlbState(s))?.subnets, [subnet('a'), subnet('b')].sort());
    await provider.ensureDeleted(s.identity, live());
  });

  test('cross-zone-load-balancing-enabled sets load_balancing.cross_zone.enabled and follows changes', async () => {
    const on = spec(720, { crossZone: true });
    await provider.ensure(on, live());
    assert.equal((await nlbState(on))?.crossZone, 'true');
    assert.deepEqual(await count(() => provider.ensure(on, live())), {});
    const off = spec(720); // annotation removed: back to false, as in-tree
    assert.deepEqual(await count(() => provider.ensure(off, live())), { ModifyLoadBalancerAttributes: 1 });
    assert.equal((await nlbState(off))?.crossZone, 'false');
    await provider.ensureDeleted(on.identity, live());
  });

  test('target-node-labels: only nodes carrying every label are targets; "key=" matches any value', async () => {
    const labelled = (name: string, labels: Record<string, string>) => ({ ...seeded(name), labels });
    const nodes = [
      labelled('node-a', { pool: 'edge' }),
      labelled('node-b', { pool: 'edge', gpu: 'a100' }),
      labelled('node-c', { pool: 'batch', gpu: 't4' }),
      seeded('node-e'),
    ];
    const s = { ...spec(730, { targetNodeLabels: { pool: 'edge' } }), nodes };
    await provider.ensure(s, live());
    assert.deepEqual((await nlbState(s))?.targets, ['node-a', 'node-b']);
    const gpu = { ...s, providerOptions: { ...s.providerOptions, targetNodeLabels: { gpu: '' } } };
    assert.deepEqual(await count(() => provider.ensure(gpu, live())), { DeregisterTargets: 1, RegisterTargets: 1 });
    assert.deepEqual((await nlbState(s))?.targets, ['node-b', 'node-c']);
    const both = { ...s, providerOptions: { ...s.providerOptions, targetNodeLabels: { gpu: '', pool: 'edge' } } };
    await provider.updateHosts(both, live());
    assert.deepEqual((await nlbState(s))?.targets, ['node-b']);
    await provider.ensureDeleted(s.identity, live());
  });

  test('eip-allocations: one Elastic IP per subnet in SubnetMappings; a count that does not match is refused', async () => {
    const { EC2Client, AllocateAddressCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint });
    const alloc = async () => (await ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).AllocationId!;
    const [one, two] = [await alloc(), await alloc()];
    ec2.destroy();

    // Nodes only in zone a: one subnet, so two allocations cannot be placed. Refused before anything is created.
    const tooMany = spec(740, { eipAllocations: [one, two] });
    await assert.rejects(provider.ensure(tooMany, live()), (e: Error & { reason?: string }) => {
      assert.match(e.message, /lists 2 allocation\(s\) but the NLB gets 1 subnet/);
      return true;
    });
    assert.equal(await nlbState(tooMany), null);
    assert.ok(
      !(await resources()).includes(`sg:${loadBalancerName(tooMany.identity)}`),
      'nor its security group: the count is checked first',
    );

    const s = spec(741, { eipAllocations: [one] });
    const from = proxy.requests.length;
    await provider.ensure(s, live());
    const create = proxy.requests.slice(from).find((r) => r.action === 'CreateLoadBalancer')!;
    // moto 5.2.5 accepts SubnetMappings but keeps no AllocationId (DescribeLoadBalancers shows no
    // LoadBalancerAddresses), so the pairing is asserted as it reached the endpoint.
    assert.equal(create.params.get('SubnetMappings.member.1.SubnetId'), subnet('a'));
    assert.equal(create.params.get('SubnetMappings.member.1.AllocationId'), one);
    assert.equal(create.params.get('SubnetMappings.member.2.SubnetId'), null);
    assert.deepEqual((await nlbState(s))?.subnets, [subnet('a')]);
    // With Elastic IPs the subnets are the user's fixed choice: a node in zone b adds no subnet.
    const joined = { ...s, nodes: [...s.nodes, seeded('node-d')] };
    assert.deepEqual(await count(() => provider.updateHosts(joined, live())), { RegisterTargets: 1 });
    await provider.ensureDeleted(s.identity, live());
  });
});

describe('aws provider against moto: security groups do not grow with the number of Services', () => {
  /** Every ingress rule on the node SG, ours or not, and each NLB frontend group's rules. */
  async function groups() {
    const { EC2Client, DescribeSecurityGroupsCommand } = await import('@aws-sdk/client-ec2');
    const ec2 = new EC2Client({ region: 'us-east-1', endpoint: moto.endpoint });
    try {
      const all = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
      const backend = all.find((g) => g.GroupName === backendGroupName('conformance'))!;
      const rulesOf = (id: string) =>
        (all.find((g) => g.GroupId === id)?.IpPermissions ?? [])
          .flatMap((p) => [
            ...(p.IpRanges ?? []).map((r) => `${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${r.CidrIp}`),
            ...(p.UserIdGroupPairs ?? []).map(
              (u) =>
                `${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${u.GroupId === backend.GroupId ? 'backend' : u.GroupId}`,
            ),
          ])
          .sort();
      const frontend = (lb: string) => {
        const g = all.find((x) => x.GroupName === lb);
        return g ? rulesOf(g.GroupId!) : null;
      };
      return { node: rulesOf(moto.seed.nodeSecurityGroup), frontend, backend: backend.GroupId! };
    } finally {
      ec2.destroy();
    }
  }

  test('3 Services with the same source range: 2 node rules in all; deleting one keeps what the others need', async () => {
    const specs = [750, 751, 752].map((n) => ({ ...spec(n), sourceRanges: ['198.51.100.0/24'] }));
    // Concurrently, as the controller's workers would: they race only to add the same backend rules.
    await Promise.all(specs.map((s) => provider.ensure(s, live())));
    const backendRules = ['tcp:0-65535:backend', 'udp:0-65535:backend'];
    let g = await groups();
    assert.deepEqual(g.node, backendRules, 'the node SG holds 2 rules of ours, not one per Service and NodePort');
    for (const s of specs) {
      assert.deepEqual(g.frontend(loadBalancerName(s.identity)), ['tcp:80-80:198.51.100.0/24']);
    }
    const nlbGroups = async (s: LoadBalancerSpec<AwsOptions>) => {
      const elbv2 = await import('@aws-sdk/client-elastic-load-balancing-v2');
      const elb = new elbv2.ElasticLoadBalancingV2Client({ region: 'us-east-1', endpoint: moto.endpoint });
      const lb = (await elb.send(new elbv2.DescribeLoadBalancersCommand({ Names: [loadBalancerName(s.identity)] })))
        .LoadBalancers![0]!;
      elb.destroy();
      return [...(lb.SecurityGroups ?? [])].sort();
    };
    assert.ok((await nlbGroups(specs[0]!)).includes(g.backend), 'every NLB carries the backend group');

    await provider.ensureDeleted(specs[0]!.identity, live());
    g = await groups();
    assert.deepEqual(g.node, backendRules, 'still both: the other Services need them');
    assert.equal(g.frontend(loadBalancerName(specs[0]!.identity)), null, "the deleted NLB's own group is gone");
    for (const s of specs.slice(1)) {
      assert.deepEqual(g.frontend(loadBalancerName(s.identity)), ['tcp:80-80:198.51.100.0/24']);
      assert.deepEqual(await count(() => provider.ensure(s, live())), {}, 'the others are still converged');
    }

    // A source range change touches only that Service's own group.
    const changed = { ...specs[1]!, sourceRanges: ['203.0.113.0/24'] };
    assert.deepEqual(await count(() => provider.ensure(changed, live())), {
      RevokeSecurityGroupIngress: 1,
      AuthorizeSecurityGroupIngress: 1,
    });
    g = await groups();
    assert.deepEqual(g.frontend(loadBalancerName(changed.identity)), ['tcp:80-80:203.0.113.0/24']);
    assert.deepEqual(g.frontend(loadBalancerName(specs[2]!.identity)), ['tcp:80-80:198.51.100.0/24']);
    assert.deepEqual(g.node, backendRules);
    for (const s of specs.slice(1)) await provider.ensureDeleted(s.identity, live());
  });
});

describe('aws provider against moto: an NLB made before NLBs had our security groups', () => {
  test('keeps its per-NLB node rules (it cannot gain groups), converges them, and removes them on delete', async () => {
    const s = spec(760);
    const name = loadBalancerName(s.identity);
    const elbv2 = await import('@aws-sdk/client-elastic-load-balancing-v2');
    const elb = new elbv2.ElasticLoadBalancingV2Client({ region: 'us-east-1', endpoint: moto.endpoint });
    await elb.send(
      new elbv2.CreateLoadBalancerCommand({
        Name: name,
        Type: 'network',
        Scheme: 'internet-facing',
        Subnets: [moto.seed.subnets.a!],
        Tags: toAwsTags(ownerTags(s.identity)),
      }),
    );
    elb.destroy();
    const legacyRules = async () => (await resources()).filter((r) => r.startsWith('rule:') || r === `sg:${name}`);
    const nodePort = s.ports[0]!.nodePort!;
    assert.deepEqual(await count(() => provider.ensure(s, live())), {
      CreateTargetGroup: 1,
      RegisterTargets: 1,
      CreateListener: 1,
      AuthorizeSecurityGroupIngress: 1,
    });
    assert.deepEqual(await legacyRules(), [`rule:tcp:${nodePort}:0.0.0.0/0:drawbridge.io/lb=${name}`]);
    assert.deepEqual(await count(() => provider.ensure(s, live())), {});
    await provider.ensureDeleted(s.identity, live());
    assert.deepEqual(await legacyRules(), []);
  });
});
