// Over 300 lines: one moto and one control plane shared by every aws case (starting them is the slow part).
// The aws provider end to end: a real kube-apiserver, the real Controller, and moto behind a recording proxy.
// Every case asserts what moto holds (read straight from moto, not through the proxy, so reads here never count
// as the controller's calls) and what the Service's status says. Nodes are plain Node objects whose providerIDs
// are the seeded EC2 instances; nothing runs on them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import {
  DeleteListenerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { readAnnotations } from '../../providers/aws/annotations.ts';
import { AwsConfigSchema, aws as awsDefinition } from '../../providers/aws/index.ts';
import { backendGroupName, loadBalancerName } from '../../providers/aws/names.ts';
import { testContext } from '../conformance/context.ts';
import { eventually } from '../env/harness.ts';
import { mutations } from '../support/moto.ts';
import { awsRig } from './aws-rig.ts';
import { readService, waitForEvent, waitForSettled } from './support.ts';

const CLUSTER = 'itest';
const NS = 'aws';
const CLASS = 'drawbridge.io/aws';
const A = 'service.beta.kubernetes.io/aws-load-balancer-';

const { moto, proxy, elb, ec2, cluster, addNode, controller } = await awsRig(CLUSTER, NS);

function service(name: string, spec: Partial<V1Service['spec']> = {}, annotations?: Record<string, string>): V1Service {
  return {
    metadata: { name, annotations },
    spec: {
      type: 'LoadBalancer',
      loadBalancerClass: CLASS,
      selector: { app: name },
      ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
      ...spec,
    },
  };
}

// ---- What moto holds for one Service.

interface Observed {
  name: string;
  dns: string;
  scheme: string;
  subnets: string[];
  /** `port/protocol -> target group name` */
  listeners: Record<string, string>;
  groups: Record<
    string,
    { protocol: string; port: number; hc: string; targets: string[] } // targets: `instance:port`, sorted
  >;
  /** The NLB's own group's rules: `proto:listenerPort:cidr`, sorted. */
  rules: string[];
}

const instanceOf = (node: string) => moto.seed.nodes[node]!.instanceId;

async function observe(svc: V1Service): Promise<Observed | undefined> {
  const name = loadBalancerName({ clusterName: CLUSTER, uid: svc.metadata!.uid! });
  const lb = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers?.find(
    (l) => l.LoadBalancerName === name,
  );
  if (!lb) return undefined;
  const groups: Observed['groups'] = {};
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  for (const g of tgs.filter((t) => t.TargetGroupName?.startsWith(`${name}-`))) {
    const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: g.TargetGroupArn }));
    groups[g.TargetGroupName!] = {
      protocol: g.Protocol!,
      port: g.Port!,
      hc: [g.HealthCheckProtocol, g.HealthCheckPort, g.HealthCheckPath ?? '', g.HealthCheckIntervalSeconds].join(' '),
      targets: (health.TargetHealthDescriptions ?? []).map((d) => `${d.Target?.Id}:${d.Target?.Port}`).sort(),
    };
  }
  const listeners: Observed['listeners'] = {};
  for (const l of (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lb.LoadBalancerArn }))).Listeners ??
    []) {
    const tg = tgs.find((g) => g.TargetGroupArn === l.DefaultActions?.[0]?.TargetGroupArn);
    listeners[`${l.Port}/${l.Protocol}`] = tg?.TargetGroupName ?? '?';
  }
  return {
    name,
    dns: lb.DNSName!.toLowerCase(),
    scheme: lb.Scheme!,
    subnets: (lb.AvailabilityZones ?? []).map((z) => z.SubnetId!).sort(),
    listeners,
    groups,
    rules: await rulesOf(name),
  };
}

/** The NLB's own (frontend) group's rules, `proto:listenerPort:cidr`, sorted; [] when the group is gone. */
async function rulesOf(lbName: string): Promise<string[]> {
  const sgs = await ec2.send(
    new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-name', Values: [lbName] }] }),
  );
  return (sgs.SecurityGroups ?? [])
    .flatMap((g) =>
      (g.IpPermissions ?? []).flatMap((p) =>
        (p.IpRanges ?? []).map((r) => `${p.IpProtocol}:${p.FromPort}:${r.CidrIp}`),
      ),
    )
    .sort();
}

/** Every rule on the node security group, `proto:from-to:source` (the backend group's rules read `backend`). */
async function nodeRules(): Promise<string[]> {
  const all = (await ec2.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
  const backend = all.find((g) => g.GroupName === backendGroupName(CLUSTER))?.GroupId;
  const node = all.find((g) => g.GroupId === moto.seed.nodeSecurityGroup)!;
  return (node.IpPermissions ?? [])
    .flatMap((p) => [
      ...(p.IpRanges ?? []).map((r) => `${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${r.CidrIp}`),
      ...(p.UserIdGroupPairs ?? []).map(
        (u) => `${p.IpProtocol}:${p.FromPort}-${p.ToPort}:${u.GroupId === backend ? 'backend' : u.GroupId}`,
      ),
    ])
    .sort();
}
const BACKEND_RULES = ['tcp:0-65535:backend', 'udp:0-65535:backend'];

/** Creates the Service and waits for its hostname; returns the Service as it is then and moto's view of it. */
async function provision(svc: V1Service): Promise<{ svc: V1Service; aws: Observed }> {
  const core = cluster.core;
  await core.createNamespacedService({ namespace: NS, body: svc });
  const name = svc.metadata!.name!;
  const hostname = await eventually(`a hostname on ${name}`, async () => {
    return (await readService(core, NS, name))?.status?.loadBalancer?.ingress?.[0]?.hostname;
  });
  await waitForSettled(controller(), core, NS);
  const now = (await readService(core, NS, name))!;
  const aws = (await observe(now))!;
  assert.equal(hostname, aws.dns, 'status.loadBalancer.ingress[0].hostname is the NLB DNS name');
  assert.deepEqual(
    now.status?.loadBalancer?.ingress?.map((i) => ({ ...i })),
    [{ hostname: aws.dns }],
  );
  return { svc: now, aws };
}

const nodePortOf = (svc: V1Service, port: number, protocol = 'TCP') =>
  svc.spec!.ports!.find((p) => p.port === port && p.protocol === protocol)!.nodePort!;

const targetsOn = (nodePort: number, ...nodes: string[]) => nodes.map((n) => `${instanceOf(n)}:${nodePort}`).sort();

async function patchService(name: string, patch: object): Promise<void> {
  await cluster.core.patchNamespacedService(
    { name, namespace: NS, body: patch },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}

// ---- Cases.

test('multi-port TCP and UDP, and TCP_UDP where one port number is on both protocols', async () => {
  const { svc, aws } = await provision(
    service('multi', {
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: 'dns-udp', protocol: 'UDP', port: 53, targetPort: 5353 },
        { name: 'dns-tcp', protocol: 'TCP', port: 53, targetPort: 5353 },
        { name: 'syslog', protocol: 'UDP', port: 514, targetPort: 514 },
      ],
    }),
  );
  const n80 = nodePortOf(svc, 80);
  const n53 = nodePortOf(svc, 53, 'UDP');
  const n514 = nodePortOf(svc, 514, 'UDP');
  assert.equal(nodePortOf(svc, 53, 'TCP'), n53, 'the apiserver gives one port number on two protocols one NodePort');
  assert.equal(aws.scheme, 'internet-facing');
  assert.deepEqual(aws.subnets, [moto.seed.subnets.a, moto.seed.subnets.b].sort(), 'one public subnet per node AZ');
  assert.deepEqual(aws.listeners, {
    '53/TCP_UDP': `${aws.name}-tcpudp53`,
    '80/TCP': `${aws.name}-tcp80`,
    '514/UDP': `${aws.name}-udp514`,
  });
  assert.deepEqual(aws.groups, {
    [`${aws.name}-tcp80`]: {
      protocol: 'TCP',
      port: n80,
      hc: 'TCP traffic-port  30',
      targets: targetsOn(n80, 'node-a', 'node-b'),
    },
    [`${aws.name}-tcpudp53`]: {
      protocol: 'TCP_UDP',
      port: n53,
      hc: 'TCP traffic-port  30',
      targets: targetsOn(n53, 'node-a', 'node-b'),
    },
    // A UDP NodePort cannot be probed over TCP: kube-proxy's healthz (:10256/healthz) over HTTP instead.
    [`${aws.name}-udp514`]: {
      protocol: 'UDP',
      port: n514,
      hc: 'HTTP 10256 /healthz 30',
      targets: targetsOn(n514, 'node-a', 'node-b'),
    },
  });
  // Listener ports on the NLB's own group; the node SG admits the cluster's backend group, nothing per Service.
  assert.deepEqual(aws.rules, ['tcp:53:0.0.0.0/0', 'tcp:80:0.0.0.0/0', 'udp:514:0.0.0.0/0', 'udp:53:0.0.0.0/0']);
  assert.deepEqual(await nodeRules(), BACKEND_RULES);
});

test('externalTrafficPolicy Local: HTTP health check on healthCheckNodePort /healthz, reachable from the NLB', async () => {
  const { svc, aws } = await provision(service('local', { externalTrafficPolicy: 'Local' }));
  const hc = svc.spec!.healthCheckNodePort!;
  assert.ok(hc > 0);
  const n80 = nodePortOf(svc, 80);
  assert.deepEqual(aws.groups[`${aws.name}-tcp80`], {
    protocol: 'TCP',
    port: n80,
    hc: `HTTP ${hc} /healthz 10`,
    targets: targetsOn(n80, 'node-a', 'node-b'),
  });
  assert.deepEqual(aws.rules, ['tcp:80:0.0.0.0/0']);
  // The health check comes from the NLB, i.e. from the backend group the node SG admits on every port.
  assert.deepEqual(await nodeRules(), BACKEND_RULES);
});

test('internal scheme via annotation: internal NLB in the internal-elb subnets', async () => {
  const { aws } = await provision(service('internal', {}, { [`${A}internal`]: 'true' }));
  assert.equal(aws.scheme, 'internal');
  assert.deepEqual(aws.subnets, [moto.seed.subnets['private-a'], moto.seed.subnets['private-b']].sort());
});

test("loadBalancerSourceRanges become the listener rules of the NLB's own security group", async () => {
  const { aws } = await provision(
    service('ranges', { loadBalancerSourceRanges: ['203.0.113.0/24', '198.51.100.7/32'] }),
  );
  assert.deepEqual(aws.rules, ['tcp:80:198.51.100.7/32', 'tcp:80:203.0.113.0/24']);
  await patchService('ranges', { spec: { loadBalancerSourceRanges: ['203.0.113.0/24'] } });
  await eventually('the dropped range to be revoked', async () =>
    (await rulesOf(aws.name)).join() === 'tcp:80:203.0.113.0/24' ? true : undefined,
  );
  assert.deepEqual(await nodeRules(), BACKEND_RULES, 'the node SG is not touched');
});

test('nodes added and removed: targets follow, and nothing but Register/DeregisterTargets is written', async () => {
  const core = cluster.core;
  const { svc, aws } = await provision(
    service('nodes', {
      ports: [
        { name: 'a', protocol: 'TCP', port: 80, targetPort: 80 },
        { name: 'b', protocol: 'UDP', port: 81, targetPort: 81 },
      ],
    }),
  );
  const [n80, n81] = [nodePortOf(svc, 80), nodePortOf(svc, 81, 'UDP')];
  const tg80 = `${aws.name}-tcp80`;
  const tg81 = `${aws.name}-udp81`;

  let from = proxy.actions.length;
  await addNode(core, 'node-c');
  await eventually('node-c registered in both groups', async () => {
    const now = await observe(svc);
    return now?.groups[tg80]?.targets.length === 3 && now.groups[tg81]?.targets.length === 3 ? now : undefined;
  });
  await waitForSettled(controller(), core, NS);
  let now = (await observe(svc))!;
  assert.deepEqual(now.groups[tg80]!.targets, targetsOn(n80, 'node-a', 'node-b', 'node-c'));
  assert.deepEqual(now.groups[tg81]!.targets, targetsOn(n81, 'node-a', 'node-b', 'node-c'));
  // Every Service of ours registers node-c: one call per target group, across all Services so far.
  const groupsNow = ((await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? []).length;
  assert.deepEqual(mutations(proxy.actions.slice(from)), { RegisterTargets: groupsNow });

  from = proxy.actions.length;
  await core.deleteNode({ name: 'node-c' });
  await eventually('node-c deregistered', async () =>
    (await observe(svc))?.groups[tg80]?.targets.length === 2 ? true : undefined,
  );
  await waitForSettled(controller(), core, NS);
  now = (await observe(svc))!;
  assert.deepEqual(now.groups[tg80]!.targets, targetsOn(n80, 'node-a', 'node-b'));
  assert.deepEqual(now.groups[tg81]!.targets, targetsOn(n81, 'node-a', 'node-b'));
  assert.deepEqual(mutations(proxy.actions.slice(from)), { DeregisterTargets: groupsNow });

  // Several resyncs (every 2 s) of every Service, converged: no write at all.
  from = proxy.actions.length;
  await new Promise((r) => setTimeout(r, 4_500));
  assert.ok(
    proxy.actions.slice(from).filter((a) => a === 'DescribeLoadBalancers').length > 0,
    'resyncs ran (they describe)',
  );
  assert.deepEqual(mutations(proxy.actions.slice(from)), {});
});

test('ports changed: the new port gets a group and listener, the old ones go', async () => {
  const { svc, aws } = await provision(service('ports'));
  await patchService('ports', {
    spec: { ports: [{ name: 'https', protocol: 'TCP', port: 443, targetPort: 8443 }] },
  });
  const now = await eventually('the listener to move to 443', async () => {
    const o = await observe(svc);
    return o && Object.keys(o.listeners).join() === '443/TCP' && Object.keys(o.groups).length === 1 ? o : undefined;
  });
  const updated = (await readService(cluster.core, NS, 'ports'))!;
  const n443 = nodePortOf(updated, 443);
  assert.deepEqual(now.listeners, { '443/TCP': `${aws.name}-tcp443` });
  assert.deepEqual(Object.keys(now.groups), [`${aws.name}-tcp443`]);
  assert.deepEqual(now.groups[`${aws.name}-tcp443`]!.targets, targetsOn(n443, 'node-a', 'node-b'));
  await eventually('the old listener rule to be revoked', async () =>
    (await rulesOf(aws.name)).join() === 'tcp:443:0.0.0.0/0' ? true : undefined,
  );
});

test('drift: a listener and a target group deleted behind our back come back on the next resync', async () => {
  const { svc, aws } = await provision(
    service('drift', {
      ports: [
        { name: 'a', protocol: 'TCP', port: 80, targetPort: 80 },
        { name: 'b', protocol: 'TCP', port: 81, targetPort: 81 },
      ],
    }),
  );
  const lbArn = (await elb.send(new DescribeLoadBalancersCommand({ Names: [aws.name] }))).LoadBalancers![0]!
    .LoadBalancerArn;
  const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: lbArn }))).Listeners ?? [];
  // Port 81: its listener, then its target group (AWS refuses to delete a group a listener forwards to); port 80:
  // only its listener. A resync may land in between; either way exactly this much must be rebuilt.
  const from = proxy.actions.length;
  const l81 = listeners.find((l) => l.Port === 81)!;
  await elb.send(new DeleteListenerCommand({ ListenerArn: l81.ListenerArn }));
  await elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: l81.DefaultActions![0]!.TargetGroupArn }));
  await elb.send(new DeleteListenerCommand({ ListenerArn: listeners.find((l) => l.Port === 80)!.ListenerArn }));

  const back = await eventually('a resync to restore both', async () => {
    const o = await observe(svc);
    return o && Object.keys(o.listeners).length === 2 && Object.keys(o.groups).length === 2 ? o : undefined;
  });
  assert.deepEqual(back, aws, 'the same listeners, groups, targets and rules as before');
  await waitForSettled(controller(), cluster.core, NS);
  assert.deepEqual(mutations(proxy.actions.slice(from)), {
    CreateListener: 2,
    CreateTargetGroup: 1,
    RegisterTargets: 1,
  });
});

test('Service deleted: nothing carrying its tags remains', async () => {
  const core = cluster.core;
  const { svc, aws } = await provision(
    service('doomed', {
      loadBalancerSourceRanges: ['192.0.2.0/24'],
      ports: [
        { name: 'a', protocol: 'TCP', port: 80, targetPort: 80 },
        { name: 'b', protocol: 'UDP', port: 81, targetPort: 81 },
      ],
    }),
  );
  assert.equal(Object.keys(aws.groups).length, 2);
  await core.deleteNamespacedService({ name: 'doomed', namespace: NS });
  await eventually('the Service to be gone (finalizer released)', async () =>
    (await readService(core, NS, 'doomed')) === undefined ? true : undefined,
  );
  assert.equal(await observe(svc), undefined, 'no NLB by that name');
  // Anything tagged with this Service's UID, by tag rather than by name.
  const uid = svc.metadata!.uid!;
  const lbs = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  const arns = [...lbs.map((l) => l.LoadBalancerArn!), ...tgs.map((g) => g.TargetGroupArn!)];
  const tagged = arns.length
    ? ((await elb.send(new DescribeTagsCommand({ ResourceArns: arns }))).TagDescriptions ?? []).filter((d) =>
        d.Tags?.some((t) => t.Value === uid),
      )
    : [];
  assert.deepEqual(tagged, []);
  assert.equal(tgs.filter((g) => g.TargetGroupName?.startsWith(aws.name)).length, 0);
  assert.deepEqual(await rulesOf(aws.name), [], "the NLB's own group is gone");
  assert.deepEqual(await nodeRules(), BACKEND_RULES, 'the node rules other Services need stay');
});

test('target-node-labels through the controller: only labelled nodes are targets, and a relabel is followed', async () => {
  const core = cluster.core;
  const label = (name: string, labels: Record<string, string | null>) =>
    core.patchNode(
      { name, body: { metadata: { labels } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  await label('node-a', { 'drawbridge.test/pool': 'edge' });
  const { svc, aws } = await provision(
    service('labelled', {}, { [`${A}target-node-labels`]: 'drawbridge.test/pool=edge' }),
  );
  const n80 = nodePortOf(svc, 80);
  assert.deepEqual(aws.groups[`${aws.name}-tcp80`]!.targets, targetsOn(n80, 'node-a'));
  // A label change is not a node-set change (relabels cost no reconcile); the Service's next resync picks it up.
  await label('node-b', { 'drawbridge.test/pool': 'edge' });
  await eventually('node-b to become a target', async () =>
    (await observe(svc))?.groups[`${aws.name}-tcp80`]?.targets.length === 2 ? true : undefined,
  );
  assert.deepEqual((await observe(svc))!.groups[`${aws.name}-tcp80`]!.targets, targetsOn(n80, 'node-a', 'node-b'));
  await label('node-a', { 'drawbridge.test/pool': null });
  await eventually('node-a to leave', async () =>
    (await observe(svc))?.groups[`${aws.name}-tcp80`]?.targets.join() === targetsOn(n80, 'node-b').join()
      ? true
      : undefined,
  );
  await label('node-b', { 'drawbridge.test/pool': null });
});

test('an unsupported aws-load-balancer-* annotation gets a Warning Event naming it', async () => {
  const core = cluster.core;
  // backend-protocol (TLS to the targets) is one ALBC annotation this provider refuses.
  const key = `${A}backend-protocol`;
  await core.createNamespacedService({ namespace: NS, body: service('unsupported', {}, { [key]: 'ssl' }) });
  const event = await waitForEvent(core, NS, 'unsupported', 'UnsupportedAwsAnnotation');
  assert.equal(event.type, 'Warning');
  assert.match(event.message ?? '', new RegExp(key.replaceAll('.', '\\.')));
});

test('drawbridge gc --provider aws: an NLB tagged for this cluster whose Service is gone is found and removed', async () => {
  // The orphan: made by a provider of its own, for a Service UID the apiserver has never seen (as if the Service
  // had been deleted while no controller ran).
  const ghost = { clusterName: CLUSTER, namespace: NS, name: 'ghost', uid: '00000000-0000-4000-8000-00000000dead' };
  const orphanMaker = await awsDefinition.create(
    { ...testContext('aws').context, clusterName: CLUSTER },
    AwsConfigSchema.parse({ region: 'us-east-1', endpoint: moto.endpoint }),
  );
  const seededNode = (n: string) => ({
    name: n,
    providerID: moto.seed.nodes[n]!.providerID,
    internalIP: moto.seed.nodes[n]!.ip,
    externalIP: null,
  });
  await orphanMaker.ensure(
    {
      identity: ghost,
      loadBalancerClass: CLASS,
      ports: [{ name: 'http', protocol: 'TCP', port: 80, nodePort: 31999 }],
      sessionAffinity: 'None',
      sessionAffinityTimeoutSeconds: null,
      externalTrafficPolicy: 'Cluster',
      healthCheck: { port: 10256, path: '/healthz' },
      sourceRanges: [],
      requestedAddresses: [],
      currentAddresses: [],
      ipFamilies: ['IPv4'],
      nodes: [seededNode('node-a'), seededNode('node-b')],
      endpointNodes: [],
      providerOptions: readAnnotations({ metadata: {} }).options,
    },
    { signal: AbortSignal.timeout(60_000) },
  );
  await orphanMaker.stop?.();
  const ghostName = loadBalancerName(ghost);
  const lbNames = async () =>
    ((await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? []).map((l) => l.LoadBalancerName!);
  const before = await lbNames();
  assert.ok(before.includes(ghostName), 'the orphan exists');
  const live = before.filter((n) => n !== ghostName);
  assert.ok(live.length > 0, 'Services of earlier cases still have their NLBs');

  const bin = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));
  const gc = (...extra: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        process.execPath,
        [
          bin,
          'gc',
          '--provider',
          'aws',
          '--aws-region',
          'us-east-1',
          '--aws-endpoint',
          moto.endpoint,
          '--cluster-name',
          CLUSTER,
          ...extra,
        ],
        { env: { ...process.env, KUBECONFIG: cluster.kubeconfigPath } },
        (error, stdout, stderr) =>
          resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      ),
    );
  const dry = await gc('--dry-run');
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`^would remove ${NS}/ghost \\(uid ${ghost.uid}\\)$`, 'm'));
  assert.match(
    dry.stdout,
    new RegExp(`^1 orphaned load balancer\\(s\\) of ${live.length + 1} owned \\(dry run\\)$`, 'm'),
  );
  assert.deepEqual((await lbNames()).sort(), before.sort(), 'a dry run removes nothing');

  const run = await gc();
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, new RegExp(`^removed ${NS}/ghost \\(uid ${ghost.uid}\\)$`, 'm'));
  assert.deepEqual((await lbNames()).sort(), live.sort(), 'only the orphan went');
  const tgs = (await elb.send(new DescribeTargetGroupsCommand({}))).TargetGroups ?? [];
  assert.deepEqual(
    tgs.filter((g) => g.TargetGroupName?.startsWith(`${ghostName}-`)),
    [],
  );
  assert.deepEqual(await rulesOf(ghostName), []);
  const again = await gc('--dry-run');
  assert.match(
    again.stdout,
    new RegExp(`^0 orphaned load balancer\\(s\\) of ${live.length} owned \\(dry run\\)$`, 'm'),
  );
});
