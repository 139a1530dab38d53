// Over 300 lines: one moto and one control plane shared by the cases of every annotation feature (starting them is
// the slow part), and the one lifecycle every feature goes through.
// The aws provider's annotation features through the real Controller (real kube-apiserver, moto behind a counting
// proxy): TLS listeners, proxy protocol v2, target-group and NLB attributes. Each goes through one lifecycle:
// create, a node joining and leaving, drift made behind the controller repaired at the next resync, the annotation
// changed in place, several resyncs at zero mutating calls, and the delete leaving nothing tagged for the cluster.
// Mutating calls are counted at the proxy and asserted exactly (docs/providers/aws.md, "What it costs"). Then
// dualstack, `drawbridge plan` showing the features, and `drawbridge gc` finding a lone backend security group.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
} from '@aws-sdk/client-ec2';
import {
  DeleteListenerCommand,
  DescribeListenerCertificatesCommand,
  DescribeListenersCommand,
  DescribeLoadBalancerAttributesCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type LoadBalancer,
  ModifyLoadBalancerAttributesCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { backendGroupName, loadBalancerName, TagKeys } from '../../providers/aws/names.ts';
import { backendGroupTags } from '../../providers/aws/security-groups.ts';
import { eventually } from '../env/harness.ts';
import { issueCertificate, mutations } from '../support/moto.ts';
import { awsRig } from './aws-rig.ts';
import { readService, waitForEvent, waitForSettled } from './support.ts';

const CLUSTER = 'features';
const NS = 'features';
const CLASS = 'drawbridge.io/aws';
const A = 'service.beta.kubernetes.io/aws-load-balancer-';

const { moto, proxy, elb, ec2, cluster, addNode, controller } = await awsRig(CLUSTER, NS);

function service(name: string, ports: number[], annotations: Record<string, string>, klass = CLASS): V1Service {
  return {
    metadata: { name, annotations },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: klass,
      selector: { app: name },
      ports: ports.map((port) => ({ name: `p${port}`, protocol: 'TCP', port, targetPort: 8080 })),
    },
  };
}

async function patchAnnotations(name: string, annotations: Record<string, string | null>): Promise<void> {
  await cluster.core.patchNamespacedService(
    { name, namespace: NS, body: { metadata: { annotations } } },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

// ---- What moto holds (read from moto directly: these reads never count as the controller's).

interface Observed {
  lb: LoadBalancer;
  lbAttributes: Record<string, string>;
  /** `port/protocol` -> policy and certificates (`-` for none) */
  listeners: Record<string, string>;
  /** target-group name -> its attributes and targets */
  groups: Record<string, { attributes: Record<string, string>; targets: number }>;
}

const attributeMap = (list?: { Key?: string; Value?: string }[]) =>
  Object.fromEntries((list ?? []).map((a) => [a.Key!, a.Value ?? '']));

async function observe(name: string): Promise<Observed | undefined> {
  const lb = ((await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []).find(
    (l) => l.LoadBalancerName === name,
  );
  if (!lb) return undefined;
  const arn = lb.LoadBalancerArn;
  const lbAttributes = attributeMap(
    (await elb.send(new DescribeLoadBalancerAttributesCommand({ LoadBalancerArn: arn }))).Attributes,
  );
  const listeners: Observed['listeners'] = {};
  for (const l of (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: arn }))).Listeners ?? []) {
    const certs =
      l.Protocol === 'TLS'
        ? ((await elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: l.ListenerArn }))).Certificates ?? [])
            .map((c) => c.CertificateArn)
            .join(',')
        : '-';
    // moto shows a policy on TCP listeners too: only a TLS listener's is ours to assert.
    listeners[`${l.Port}/${l.Protocol}`] = l.Protocol === 'TLS' ? `${l.SslPolicy} ${certs}` : '-';
  }
  const groups: Observed['groups'] = {};
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  for (const g of tgs.filter((t) => t.TargetGroupName?.startsWith(`${name}-`))) {
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
    const attributes = attributeMap(
      (await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: g.TargetGroupArn }))).Attributes,
    );
    groups[g.TargetGroupName!] = { attributes, targets: health.TargetHealthDescriptions?.length ?? 0 };
  }
  return { lb, lbAttributes, listeners, groups };
}

/** Everything carrying `drawbridge.io/cluster=<this cluster>`: NLBs, target groups and security groups. */
async function taggedForCluster(): Promise<string[]> {
  const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const arns = [...lbs.map((l) => l.LoadBalancerArn!), ...tgs.map((g) => g.TargetGroupArn!)];
  const tagged: string[] = [];
  for (let i = 0; i < arns.length; i += 20) {
    const res = await elb.send(new DescribeTagsCommand({ ResourceArns: arns.slice(i, i + 20) }));
    for (const d of res.TagDescriptions ?? [])
      if (d.Tags?.some((t) => t.Key === TagKeys.cluster && t.Value === CLUSTER)) tagged.push(d.ResourceArn!);
  }
  const sgs = await ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: `tag:${TagKeys.cluster}`, Values: [CLUSTER] }] }),
  );
  return [...tagged, ...(sgs.SecurityGroups ?? []).map((g) => g.GroupId!)];
}

/** The rules on the seeded node security group. */
async function nodeRuleCount(): Promise<number> {
  const sgs = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [moto.seed.nodeSecurityGroup] }));
  return (sgs.SecurityGroups?.[0]?.IpPermissions ?? []).length;
}

/** Runs `act`, waits for `done` and for the controller to settle, and answers the mutating calls made meanwhile. */
async function mutationsOf(what: string, act: () => Promise<unknown>, done: () => Promise<boolean>) {
  const from = proxy.actions.length;
  await act();
  await eventually(what, async () => ((await done()) ? true : undefined), 30_000);
  await waitForSettled(controller(), cluster.core, NS);
  return mutations(proxy.actions.slice(from));
}

// ---- The lifecycle every feature goes through.

interface Feature {
  name: string;
  ports: number[];
  annotations: Record<string, string>;
  /** The feature's own writes at creation, on top of the plain create's. */
  createExtra: Record<string, number>;
  created(o: Observed): void;
  /** Something undone behind the controller's back, how to tell it is repaired, and the writes that repair it. */
  drift: { make(o: Observed): Promise<void>; repaired(o: Observed): boolean; writes: Record<string, number> };
  /** An annotation change applied in place, how to tell it is applied, and its writes. */
  change: { annotations: Record<string, string | null>; applied(o: Observed): boolean; writes: Record<string, number> };
}

/** A plain create of `ports` TCP ports as the cluster's only NLB (so with the backend group and its node rule). */
function plainCreate(ports: number): Record<string, number> {
  return {
    CreateSecurityGroup: 2,
    AuthorizeSecurityGroupIngress: 2,
    CreateLoadBalancer: 1,
    CreateTargetGroup: ports,
    RegisterTargets: ports,
    CreateListener: ports,
  };
}

function sum(...counts: Record<string, number>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of counts) for (const [k, v] of Object.entries(c)) out[k] = (out[k] ?? 0) + v;
  return out;
}

const sorted = (o: Record<string, number>) =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : 1)));

async function lifecycle(f: Feature): Promise<void> {
  const core = cluster.core;
  const ports = f.ports.length;
  // Create.
  let from = proxy.actions.length;
  await core.createNamespacedService({ namespace: NS, body: service(f.name, f.ports, f.annotations) });
  const hostname = await eventually(`a hostname on ${f.name}`, async () => {
    return (await readService(core, NS, f.name))?.status?.loadBalancer?.ingress?.[0]?.hostname;
  });
  await waitForSettled(controller(), core, NS);
  const svc = (await readService(core, NS, f.name))!;
  const name = loadBalancerName({ clusterName: CLUSTER, uid: svc.metadata!.uid! });
  let o = (await observe(name))!;
  assert.equal(hostname, o.lb.DNSName!.toLowerCase());
  f.created(o);
  assert.deepEqual(sorted(mutations(proxy.actions.slice(from))), sorted(sum(plainCreate(ports), f.createExtra)));
  const allTargets = (n: number) => (x: Observed) => Object.values(x.groups).every((g) => g.targets === n);

  // A node joins (in a zone already served) and leaves: one Register/Deregister per target group, nothing else.
  let writes = await mutationsOf(
    'node-c registered',
    () => addNode(core, 'node-c'),
    async () => allTargets(3)((await observe(name))!),
  );
  assert.deepEqual(writes, { RegisterTargets: ports });
  writes = await mutationsOf(
    'node-c deregistered',
    () => core.deleteNode({ name: 'node-c' }),
    async () => allTargets(2)((await observe(name))!),
  );
  assert.deepEqual(writes, { DeregisterTargets: ports });

  // Drift made behind the controller: repaired at the next resync, with exactly the repairing writes.
  o = (await observe(name))!;
  writes = await mutationsOf(
    `${f.name}: drift repaired`,
    () => f.drift.make(o),
    async () => f.drift.repaired((await observe(name))!),
  );
  assert.deepEqual(writes, f.drift.writes);

  // The annotation changed: applied in place.
  writes = await mutationsOf(
    `${f.name}: change applied`,
    () => patchAnnotations(f.name, f.change.annotations),
    async () => f.change.applied((await observe(name))!),
  );
  assert.deepEqual(writes, f.change.writes);
  assert.equal((await observe(name))!.lb.LoadBalancerArn, o.lb.LoadBalancerArn, 'the same NLB');

  // Several resyncs (every 2 s), converged: reads only.
  from = proxy.actions.length;
  await new Promise((r) => setTimeout(r, 5_000));
  const window = proxy.actions.slice(from);
  assert.ok(window.filter((a) => a === 'DescribeLoadBalancers').length >= 2, 'resyncs ran');
  assert.deepEqual(mutations(window), {});

  // Deleted: it was the cluster's only NLB, so the backend group and its node rule go too, and nothing is left.
  from = proxy.actions.length;
  await core.deleteNamespacedService({ name: f.name, namespace: NS });
  await eventually(`${f.name} to be gone`, async () =>
    (await readService(core, NS, f.name)) === undefined ? true : undefined,
  );
  assert.deepEqual(
    sorted(mutations(proxy.actions.slice(from))),
    sorted({
      DeleteListener: ports,
      DeleteLoadBalancer: 1,
      DeleteTargetGroup: ports,
      DeleteSecurityGroup: 2,
      RevokeSecurityGroupIngress: 1,
    }),
  );
  assert.deepEqual(await taggedForCluster(), []);
  assert.equal(await nodeRuleCount(), 0);
}

// ---- Cases.

const POLICY = 'ELBSecurityPolicy-TLS13-1-2-2021-06';
const POLICY2 = 'ELBSecurityPolicy-FS-1-2-Res-2020-10';

test('TLS listener: TLS on the ssl-ports with the policy and certificate, TCP on the others', async () => {
  const cert = await issueCertificate(moto.endpoint, 'tls.features.test');
  await lifecycle({
    name: 'tls',
    ports: [443, 80],
    annotations: { [`${A}ssl-cert`]: cert, [`${A}ssl-ports`]: '443', [`${A}ssl-negotiation-policy`]: POLICY },
    createExtra: {},
    created: (o) => assert.deepEqual(o.listeners, { '443/TLS': `${POLICY} ${cert}`, '80/TCP': '-' }),
    drift: {
      make: async (o) => {
        const all = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: o.lb.LoadBalancerArn })))
          .Listeners!;
        await elb.send(new DeleteListenerCommand({ ListenerArn: all.find((l) => l.Port === 443)!.ListenerArn }));
      },
      repaired: (o) => o.listeners['443/TLS'] === `${POLICY} ${cert}`,
      writes: { CreateListener: 1 },
    },
    change: {
      annotations: { [`${A}ssl-negotiation-policy`]: POLICY2 },
      applied: (o) => o.listeners['443/TLS'] === `${POLICY2} ${cert}` && o.listeners['80/TCP'] === '-',
      writes: { ModifyListener: 1 },
    },
  });
});

test('proxy protocol v2: the target-group attribute on, repaired when turned off by hand, off when removed', async () => {
  const pp = (o: Observed) => Object.values(o.groups).map((g) => g.attributes['proxy_protocol_v2.enabled']);
  await lifecycle({
    name: 'proxy',
    ports: [80],
    annotations: { [`${A}proxy-protocol`]: '*' },
    createExtra: { ModifyTargetGroupAttributes: 1 },
    created: (o) => assert.deepEqual(pp(o), ['true']),
    drift: {
      make: async (o) => {
        const tg = (await elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: o.lb.LoadBalancerArn })))
          .TargetGroups![0]!;
        await elb.send(
          new ModifyTargetGroupAttributesCommand({
            TargetGroupArn: tg.TargetGroupArn,
            Attributes: [{ Key: 'proxy_protocol_v2.enabled', Value: 'false' }],
          }),
        );
      },
      repaired: (o) => pp(o).join() === 'true',
      writes: { ModifyTargetGroupAttributes: 1 },
    },
    change: {
      annotations: { [`${A}proxy-protocol`]: null },
      applied: (o) => pp(o).join() === 'false',
      writes: { ModifyTargetGroupAttributes: 1 },
    },
  });
});

test('target-group and NLB attributes: cross-zone, deregistration delay, client IP preservation', async () => {
  const tg = (o: Observed, key: string) =>
    Object.values(o.groups)
      .map((g) => g.attributes[key])
      .join();
  const crossZone = (o: Observed) => o.lbAttributes['load_balancing.cross_zone.enabled'];
  await lifecycle({
    name: 'attrs',
    ports: [80],
    annotations: {
      [`${A}cross-zone-load-balancing-enabled`]: 'true',
      [`${A}target-group-attributes`]: 'deregistration_delay.timeout_seconds=30,preserve_client_ip.enabled=false',
    },
    createExtra: { ModifyTargetGroupAttributes: 1, ModifyLoadBalancerAttributes: 1 },
    created: (o) => {
      assert.equal(crossZone(o), 'true');
      assert.equal(tg(o, 'deregistration_delay.timeout_seconds'), '30');
      assert.equal(tg(o, 'preserve_client_ip.enabled'), 'false');
    },
    drift: {
      make: async (o) => {
        await elb.send(
          new ModifyLoadBalancerAttributesCommand({
            LoadBalancerArn: o.lb.LoadBalancerArn,
            Attributes: [{ Key: 'load_balancing.cross_zone.enabled', Value: 'false' }],
          }),
        );
        const group = (await elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: o.lb.LoadBalancerArn })))
          .TargetGroups![0]!;
        await elb.send(
          new ModifyTargetGroupAttributesCommand({
            TargetGroupArn: group.TargetGroupArn,
            Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '300' }],
          }),
        );
      },
      repaired: (o) => crossZone(o) === 'true' && tg(o, 'deregistration_delay.timeout_seconds') === '30',
      writes: { ModifyLoadBalancerAttributes: 1, ModifyTargetGroupAttributes: 1 },
    },
    change: {
      annotations: {
        [`${A}target-group-attributes`]: 'deregistration_delay.timeout_seconds=60,preserve_client_ip.enabled=false',
      },
      applied: (o) => tg(o, 'deregistration_delay.timeout_seconds') === '60',
      writes: { ModifyTargetGroupAttributes: 1 },
    },
  });
});

test('dualstack: an NLB of IpAddressType dualstack, its hostname in the status; refused on IPv4-only subnets', async () => {
  const core = cluster.core;
  await core.createNamespacedService({
    namespace: NS,
    body: service('dual', [80], { [`${A}ip-address-type`]: 'dualstack' }),
  });
  const hostname = await eventually('a hostname on dual', async () => {
    return (await readService(core, NS, 'dual'))?.status?.loadBalancer?.ingress?.[0]?.hostname;
  });
  const svc = (await readService(core, NS, 'dual'))!;
  const name = loadBalancerName({ clusterName: CLUSTER, uid: svc.metadata!.uid! });
  const o = (await observe(name))!;
  assert.equal(o.lb.IpAddressType, 'dualstack');
  assert.deepEqual(
    svc.status?.loadBalancer?.ingress?.map((i) => ({ ...i })),
    [{ hostname: o.lb.DNSName!.toLowerCase() }],
  );
  assert.equal(hostname, o.lb.DNSName!.toLowerCase());
  await waitForSettled(controller(), core, NS);

  // Named subnets without an IPv6 block: a terminal Warning before any write, nothing of it exists.
  const from = proxy.actions.length;
  await core.createNamespacedService({
    namespace: NS,
    body: service('dual-v4only', [80], {
      [`${A}ip-address-type`]: 'dualstack',
      [`${A}subnets`]: `${CLUSTER}-ipv4only-a`,
    }),
  });
  const event = await waitForEvent(core, NS, 'dual-v4only', 'SubnetWithoutIpv6');
  assert.equal(event.type, 'Warning');
  assert.match(event.message ?? '', new RegExp(moto.seed.subnets['ipv4only-a']!));
  await waitForSettled(controller(), core, NS);
  const refused = (await readService(core, NS, 'dual-v4only'))!;
  const refusedName = loadBalancerName({ clusterName: CLUSTER, uid: refused.metadata!.uid! });
  assert.equal(await observe(refusedName), undefined, 'no NLB');
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  assert.deepEqual(
    tgs.filter((g) => g.TargetGroupName?.startsWith(refusedName)),
    [],
  );
  const groups = await ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [refusedName] }] }),
  );
  assert.deepEqual(groups.SecurityGroups ?? [], [], 'no security group of its own');
  assert.deepEqual(mutations(proxy.actions.slice(from)), {}, 'no write for it (the dualstack NLB is converged)');
  assert.deepEqual(refused.status?.loadBalancer?.ingress ?? [], []);

  for (const n of ['dual', 'dual-v4only']) await core.deleteNamespacedService({ name: n, namespace: NS });
  await eventually('both gone', async () =>
    (await readService(core, NS, 'dual')) === undefined && (await readService(core, NS, 'dual-v4only')) === undefined
      ? true
      : undefined,
  );
  assert.deepEqual(await taggedForCluster(), []);
});

const bin = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));
function cli(verb: string, ...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const args = [bin, verb, '--provider', 'aws', '--aws-region', 'us-east-1', '--aws-endpoint', moto.endpoint];
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [...args, '--cluster-name', CLUSTER, ...extra],
      { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test('drawbridge plan shows the TLS listener, its policy and certificate, and the attributes it would write', async () => {
  const cert = await issueCertificate(moto.endpoint, 'plan.features.test');
  // A class the running controller does not serve, so the Service stays unprovisioned and plan shows its creation.
  const klass = 'drawbridge.io/aws-plan';
  const body = service(
    'planned',
    [443],
    {
      [`${A}ssl-cert`]: cert,
      [`${A}ssl-negotiation-policy`]: POLICY,
      [`${A}proxy-protocol`]: '*',
      [`${A}target-group-attributes`]: 'deregistration_delay.timeout_seconds=30',
      [`${A}attributes`]: 'deletion_protection.enabled=true',
    },
    klass,
  );
  await cluster.core.createNamespacedService({ namespace: NS, body });
  const before = await taggedForCluster();
  const out = await cli('plan', '--load-balancer-class', klass, '-o', 'json');
  assert.equal(out.code, 2, `changes pending: ${out.stderr}`);
  const lines = JSON.parse(out.stdout) as { service: string; actions: { detail?: string }[] }[];
  const details = lines.find((l) => l.service === `${NS}/planned`)!.actions.map((a) => a.detail ?? '');
  assert.ok(details.includes(`CreateListener TLS:443 ${POLICY} cert=${cert}`), details.join('\n'));
  assert.ok(
    details.some(
      (d) =>
        d.startsWith('ModifyTargetGroupAttributes ') &&
        d.includes('proxy_protocol_v2.enabled=true') &&
        d.includes('deregistration_delay.timeout_seconds=30'),
    ),
    details.join('\n'),
  );
  assert.ok(
    details.some(
      (d) => d.startsWith('ModifyLoadBalancerAttributes ') && d.includes('deletion_protection.enabled=true'),
    ),
    details.join('\n'),
  );
  const table = await cli('plan', '--load-balancer-class', klass);
  assert.match(table.stdout, new RegExp(`\\(CreateListener TLS:443 ${POLICY} cert=`));
  assert.deepEqual(await taggedForCluster(), before, 'plan wrote nothing');
  await cluster.core.deleteNamespacedService({ name: 'planned', namespace: NS });
});

test('drawbridge gc: a backend security group of this cluster that no NLB carries is found and removed', async () => {
  // What a controller that stopped between deleting the cluster's last NLB and its backend group leaves behind.
  const tags = Object.entries(backendGroupTags(CLUSTER)).map(([Key, Value]) => ({ Key, Value }));
  const { GroupId } = await ec2.send(
    new CreateSecurityGroupCommand({
      GroupName: backendGroupName(CLUSTER),
      Description: 'left behind',
      VpcId: moto.seed.vpcId,
      TagSpecifications: [{ ResourceType: 'security-group', Tags: tags }],
    }),
  );
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: moto.seed.nodeSecurityGroup,
      IpPermissions: ['tcp', 'udp'].map((IpProtocol) => ({
        IpProtocol,
        FromPort: 0,
        ToPort: 65535,
        UserIdGroupPairs: [{ GroupId, Description: 'drawbridge.io/nlb-backend' }],
      })),
    }),
  );
  const line = `${moto.seed.vpcId}/${backendGroupName(CLUSTER)} \\(uid ${GroupId}\\)`;
  const dry = await cli('gc', '--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`^would remove ${line}$`, 'm'));
  assert.match(dry.stdout, /^1 orphaned load balancer\(s\) of 1 owned \(dry run\)$/m);
  assert.equal(await nodeRuleCount(), 2, 'a dry run removes nothing');

  const run = await cli('gc');
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`^removed ${line}$`, 'm'));
  assert.deepEqual(await taggedForCluster(), [], 'the group is gone');
  assert.equal(await nodeRuleCount(), 0, 'with its node rules');
  const again = await cli('gc', '--dry-run');
  assert.match(again.stdout, /^0 orphaned load balancer\(s\) of 0 owned \(dry run\)$/m);
});
