// Over 300 lines: one rendering harness (the control plane, kustomize, helm) shared by every check of the manifests.
// Every way of installing Drawbridge is accepted by a real apiserver: each kustomize overlay (deploy/overlays/*)
// and the Helm chart rendered with each provider's values, applied with server-side apply in dry-run mode (the
// apiserver validates and admits every object but stores nothing). Both renderings are also checked for the
// properties issue 11 asks of them, and for agreeing with each other on RBAC and the CRD.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  type KubernetesObject,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
  type V1ClusterRole,
  type V1DaemonSet,
  type V1Deployment,
  type V1PodDisruptionBudget,
  type V1Service,
  type V1ServiceAccount,
} from '@kubernetes/client-node';
import { useControlPlane } from '../env/harness.ts';
import { manifestTools, render } from '../env/tools.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const chart = join(repo, 'deploy/helm/drawbridge');
const NS = 'drawbridge-system';
const cluster = useControlPlane({
  // Namespaced objects cannot be dry-run into a namespace that does not exist.
  setup: async (c) => void (await c.core.createNamespace({ body: { metadata: { name: NS } } })),
});

// Through JSON: the YAML loader's objects do not have Object's prototype, which deepStrictEqual would compare.
const load = (yaml: string) => JSON.parse(JSON.stringify(loadAllYaml(yaml))) as KubernetesObject[];
const kustomize = async (overlay: string) =>
  load(await render((await manifestTools()).kustomize, ['build', join(repo, 'deploy/overlays', overlay)]));
const helm = async (...args: string[]) =>
  load(
    await render((await manifestTools()).helm, ['template', 'drawbridge', chart, '-n', NS, '--include-crds', ...args]),
  );

async function dryRunApply(docs: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(cluster.kubeConfig);
  for (const doc of docs) {
    const what = `${doc.kind} ${doc.metadata?.namespace ?? ''}/${doc.metadata?.name}`;
    await api
      .patch(doc, undefined, 'All', 'drawbridge-manifest-test', true, PatchStrategy.ServerSideApply)
      .catch((error: unknown) => assert.fail(`${what} rejected: ${(error as Error).message}`));
  }
}

const find = <T>(docs: KubernetesObject[], kind: string, name?: string) =>
  docs.find((d) => d.kind === kind && (name === undefined || d.metadata?.name === name)) as T | undefined;
/** The speakers' DaemonSet, or FRR's (metal with BGP on), by the name both renderings give it. */
const daemonSet = (docs: KubernetesObject[], which: 'speaker' | 'frr') =>
  find<V1DaemonSet>(docs, 'DaemonSet', `drawbridge-${which}`);

/** FRR's DaemonSet beside the speakers': its own pod, sharing the socket directory on the node through a hostPath. */
function checkFrr(docs: KubernetesObject[]): void {
  const speaker = daemonSet(docs, 'speaker')?.spec?.template.spec;
  const frrSet = daemonSet(docs, 'frr');
  const pod = frrSet?.spec?.template.spec;
  assert.ok(pod, 'an FRR DaemonSet');
  assert.equal(frrSet?.metadata?.labels?.['app.kubernetes.io/component'], 'frr');
  assert.equal(frrSet?.spec?.selector.matchLabels?.['app.kubernetes.io/component'], 'frr', 'not the speakers');
  assert.deepEqual(
    speaker?.containers.map((c) => c.name),
    ['speaker'],
    'FRR is no container of the speakers',
  );
  const args = speaker?.containers[0]?.args ?? [];
  assert.ok(args.includes('--frr-socket-dir=/run/drawbridge/frr'));
  assert.equal(
    args.some((a) => a.startsWith('--bgp-on-stop')),
    false,
    'the default, keep',
  );
  // No API access: no token mounted, no ServiceAccount or RBAC of its own.
  assert.equal(pod.automountServiceAccountToken, false);
  assert.equal(pod.serviceAccountName, undefined);
  assert.equal(find(docs, 'ServiceAccount', 'drawbridge-frr'), undefined);
  assert.equal(pod.hostNetwork, true);
  assert.deepEqual(pod.tolerations, speaker?.tolerations, "the speakers' nodes");
  assert.ok((pod.terminationGracePeriodSeconds ?? 30) <= 10, 'bgpd closes its sessions at once');
  const [c, ...others] = pod.containers;
  assert.equal(others.length, 0);
  assert.equal(c?.image, 'drawbridge-frr:0.1.0', 'the FRR image scripts/build-image --frr builds, by default');
  assert.deepEqual(c?.command, ['/usr/local/bin/drawbridge-frr'], "the image's deploy/frr/run");
  assert.deepEqual(c?.env, [{ name: 'SPEAKER_HANDOVER_SECONDS', value: '90' }]);
  assert.deepEqual(c?.securityContext, {
    runAsUser: 0,
    runAsNonRoot: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: {
      drop: ['ALL'],
      add: ['NET_BIND_SERVICE', 'NET_RAW', 'NET_ADMIN', 'SYS_ADMIN', 'SETUID', 'SETGID', 'KILL'],
    },
    seccompProfile: { type: 'RuntimeDefault' },
  });
  assert.equal(pod.volumes?.find((v) => v.name === 'frr-tmp')?.emptyDir !== undefined, true);
  assert.equal(c?.volumeMounts?.find((m) => m.name === 'frr-tmp')?.mountPath, '/var/tmp/frr');
  // The same directory of the node in both pods, at the same path, and both in the group frrvty (gid 85).
  for (const [p, name] of [
    [pod, 'frr'],
    [speaker, 'speaker'],
  ] as const) {
    assert.deepEqual(
      p?.volumes?.find((v) => v.name === 'frr-sockets')?.hostPath,
      { path: '/var/run/drawbridge/frr', type: 'DirectoryOrCreate' },
      name,
    );
    assert.equal(
      p?.containers[0]?.volumeMounts?.find((m) => m.name === 'frr-sockets')?.mountPath,
      '/run/drawbridge/frr',
      name,
    );
    assert.deepEqual(p?.securityContext?.supplementalGroups, [85], name);
  }
}

/** What issue 11 asks of the controller Deployment, the PDB and (metal) the speaker DaemonSet. */
function checkWorkloads(docs: KubernetesObject[], provider: string): void {
  const deployment = find<V1Deployment>(docs, 'Deployment');
  assert.ok(deployment, 'a controller Deployment');
  const pod = deployment.spec?.template.spec;
  const c = pod?.containers[0];
  assert.equal(deployment.spec?.replicas, 2);
  assert.ok(c?.args?.includes(`--provider=${provider}`), `--provider=${provider} in ${c?.args}`);
  assert.ok(c?.args?.includes(`--leader-elect-namespace=${NS}`), 'leader election in its own namespace');
  assert.equal(c?.args?.includes('--no-leader-elect'), false);
  assert.equal(
    c?.args?.some((a) => a.startsWith('--metrics-secure=false')),
    false,
    'metrics stay HTTPS',
  );
  assert.deepEqual([c?.livenessProbe?.httpGet?.path, c?.livenessProbe?.httpGet?.scheme], ['/healthz', 'HTTPS']);
  assert.deepEqual([c?.readinessProbe?.httpGet?.path, c?.readinessProbe?.httpGet?.scheme], ['/readyz', 'HTTPS']);
  assert.ok(c?.resources?.requests?.cpu && c.resources.limits?.memory, 'resources');
  assert.equal(pod?.securityContext?.runAsNonRoot, true);
  assert.equal(c?.securityContext?.readOnlyRootFilesystem, true);
  assert.equal(c?.securityContext?.allowPrivilegeEscalation, false);
  assert.deepEqual(c?.securityContext?.capabilities, { drop: ['ALL'] });
  // No system-* priority class by default: outside kube-system some distributions admit it only with a quota.
  assert.equal(pod?.priorityClassName, undefined);
  assert.ok(
    pod?.topologySpreadConstraints?.some((t) => t.topologyKey === 'kubernetes.io/hostname'),
    'replicas spread across nodes',
  );
  const pdb = find<V1PodDisruptionBudget>(docs, 'PodDisruptionBudget');
  assert.deepEqual(pdb?.spec?.selector?.matchLabels, deployment.spec?.selector.matchLabels, 'PDB covers the replicas');
  // Credentials are never inline: no Secret objects (but the speakers' random membership key, tested below), no
  // literal credential values in the environment.
  assert.equal(
    find(
      docs.filter((d) => d.metadata?.name !== 'drawbridge-membership-key'),
      'Secret',
    ),
    undefined,
  );
  for (const env of c?.env ?? []) assert.equal(env.value !== undefined && /KEY|SECRET|TOKEN/.test(env.name), false);

  const speaker = daemonSet(docs, 'speaker');
  assert.equal(speaker !== undefined, provider === 'metal', 'a speaker DaemonSet exactly for metal');
  assert.equal(daemonSet(docs, 'frr') !== undefined, provider === 'metal', 'an FRR DaemonSet exactly for metal');
  if (!speaker) return;
  checkFrr(docs);
  const s = speaker.spec?.template.spec;
  const sc = s?.containers[0];
  assert.equal(s?.hostNetwork, true);
  assert.deepEqual(sc?.securityContext?.capabilities, { drop: ['ALL'], add: ['NET_RAW'] });
  assert.equal(sc?.securityContext?.allowPrivilegeEscalation, false);
  assert.equal(sc?.securityContext?.privileged, undefined);
  assert.deepEqual(s?.tolerations, [{ operator: 'Exists' }], 'runs on every node');
  assert.equal(s?.priorityClassName, undefined);
  assert.equal(sc?.env?.find((e) => e.name === 'NODE_NAME')?.valueFrom?.fieldRef?.fieldPath, 'spec.nodeName');
  assert.ok(sc?.args?.includes('--node=$(NODE_NAME)'));
  assert.deepEqual(
    sc?.ports?.map((p) => `${p.containerPort}/${p.protocol}`),
    ['7947/UDP', '7473/TCP'],
    'the membership UDP port and metrics, nothing else',
  );
  // Metrics served like the controller's: HTTPS by default, probes on the health endpoints of the metrics port.
  assert.equal(
    sc?.args?.some((a) => a.startsWith('--metrics-secure=false')),
    false,
    'speaker metrics stay HTTPS',
  );
  for (const [probe, path] of [
    [sc?.livenessProbe, '/healthz'],
    [sc?.readinessProbe, '/readyz'],
  ] as const) {
    assert.deepEqual(
      [probe?.httpGet?.path, probe?.httpGet?.port, probe?.httpGet?.scheme],
      [path, 'https-metrics', 'HTTPS'],
    );
  }
  const rules = find<V1ClusterRole>(docs, 'ClusterRole', 'drawbridge-speaker')?.rules ?? [];
  for (const [group, resource] of [
    ['authentication.k8s.io', 'tokenreviews'],
    ['authorization.k8s.io', 'subjectaccessreviews'],
  ] as const) {
    assert.ok(
      rules.some((r) => r.apiGroups?.includes(group) && r.resources?.includes(resource) && r.verbs.includes('create')),
      `the speaker may create ${resource} (delegated metrics auth)`,
    );
  }
  const service = find<V1Service>(docs, 'Service', 'drawbridge-speaker-metrics');
  assert.deepEqual(service?.spec?.selector, speaker.spec?.selector.matchLabels, 'a metrics Service for the speakers');
  assert.equal(service?.spec?.ports?.[0]?.targetPort, 'https-metrics');
}

const rules = (docs: KubernetesObject[], name: string) =>
  JSON.stringify(find<V1ClusterRole>(docs, 'ClusterRole', name)?.rules);
const saAnnotations = (docs: KubernetesObject[]) =>
  find<V1ServiceAccount>(docs, 'ServiceAccount', 'drawbridge-controller')?.metadata?.annotations;

for (const provider of ['metal', 'gcp', 'aws']) {
  test(`kustomize overlay ${provider} and the Helm chart with values-${provider}.yaml pass server-side dry-run`, async () => {
    const k = await kustomize(provider);
    const h = await helm('-f', join(chart, `values-${provider}.yaml`));
    await dryRunApply(k);
    await dryRunApply(h);
    checkWorkloads(k, provider);
    checkWorkloads(h, provider);
    // One set of permissions, whichever way it is installed.
    for (const role of ['drawbridge-controller', 'drawbridge-speaker', 'drawbridge-metrics-reader']) {
      assert.equal(rules(h, role), rules(k, role), `${role} rules agree`);
    }
    assert.deepEqual(saAnnotations(h), saAnnotations(k), 'the credential annotation agrees');
    const expected = {
      metal: undefined,
      gcp: { 'iam.gke.io/gcp-service-account': 'drawbridge@my-project.iam.gserviceaccount.com' },
      aws: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::123456789012:role/drawbridge-controller' },
    }[provider];
    assert.deepEqual(saAnnotations(k), expected);
  });
}

test('the chart takes credentials from a Secret reference, never inline', async () => {
  const gcp = await helm(
    '-f',
    join(chart, 'values-gcp.yaml'),
    '--set',
    'gcp.workloadIdentityServiceAccount=,gcp.credentialsSecret.name=gcp-key',
  );
  const aws = await helm(
    '-f',
    join(chart, 'values-aws.yaml'),
    '--set',
    'aws.roleArn=,aws.credentialsSecret.name=aws-keys',
  );
  await dryRunApply(gcp);
  await dryRunApply(aws);
  const pod = (docs: KubernetesObject[]) => find<V1Deployment>(docs, 'Deployment')?.spec?.template.spec;
  assert.deepEqual(pod(gcp)?.volumes?.find((v) => v.name === 'gcp-credentials')?.secret, { secretName: 'gcp-key' });
  assert.equal(
    pod(gcp)?.containers[0]?.env?.find((e) => e.name === 'GOOGLE_APPLICATION_CREDENTIALS')?.value,
    '/etc/drawbridge/gcp/key.json',
  );
  assert.deepEqual(
    pod(aws)?.containers[0]?.env?.map((e) => [e.name, e.valueFrom?.secretKeyRef?.name]),
    [
      ['AWS_ACCESS_KEY_ID', 'aws-keys'],
      ['AWS_SECRET_ACCESS_KEY', 'aws-keys'],
    ],
  );
  assert.equal(saAnnotations(gcp), undefined);
  assert.equal(saAnnotations(aws), undefined);
});

test("the chart's CRD is deploy/crds' (generated from the controller's schema)", async () => {
  const name = 'addresspools.drawbridge.io.yaml';
  assert.equal(
    await readFile(join(chart, 'crds', name), 'utf8'),
    await readFile(join(repo, 'deploy/crds', name), 'utf8'),
  );
});

test('the chart renders ServiceMonitors for the controller and speaker metrics only when asked', async () => {
  const metal = join(chart, 'values-metal.yaml');
  assert.equal(find(await helm('-f', metal), 'ServiceMonitor'), undefined, 'off by default');
  const docs = await helm(
    '-f',
    metal,
    '--set',
    'metrics.serviceMonitor.enabled=true,metrics.serviceMonitor.labels.release=kps',
  );
  // The ServiceMonitor CRD is Prometheus Operator's, not in this apiserver: the rest is still applied for real.
  await dryRunApply(docs.filter((d) => d.kind !== 'ServiceMonitor'));
  interface ServiceMonitor extends KubernetesObject {
    spec: {
      selector: { matchLabels: Record<string, string> };
      namespaceSelector: { matchNames: string[] };
      endpoints: { port: string; path: string; scheme: string; bearerTokenFile?: string; tlsConfig?: object }[];
    };
  }
  const monitors = docs.filter((d): d is ServiceMonitor => d.kind === 'ServiceMonitor');
  assert.deepEqual(
    monitors.map((m) => m.metadata?.name),
    ['drawbridge-controller', 'drawbridge-speaker'],
  );
  for (const monitor of monitors) {
    assert.equal(monitor.apiVersion, 'monitoring.coreos.com/v1');
    assert.equal(monitor.metadata?.labels?.release, 'kps', 'extra labels for the Prometheus selector');
    assert.deepEqual(monitor.spec.namespaceSelector.matchNames, [NS]);
    // Each selects exactly one of the chart's metrics Services, on a port that Service names.
    const services = docs.filter(
      (d): d is V1Service =>
        d.kind === 'Service' &&
        Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => d.metadata?.labels?.[k] === v),
    );
    assert.equal(services.length, 1, `${monitor.metadata?.name} selects one Service`);
    const [endpoint] = monitor.spec.endpoints;
    assert.ok(services[0]?.spec?.ports?.some((p) => p.name === endpoint?.port));
    assert.deepEqual(
      [endpoint?.path, endpoint?.scheme, endpoint?.bearerTokenFile, endpoint?.tlsConfig],
      ['/metrics', 'https', '/var/run/secrets/kubernetes.io/serviceaccount/token', { insecureSkipVerify: true }],
      'HTTPS with the Prometheus token, as the metrics servers require',
    );
  }
  const plain = await helm(
    '-f',
    join(chart, 'values-gcp.yaml'),
    '--set',
    'metrics.serviceMonitor.enabled=true,metrics.secure=false',
  );
  const gcpMonitors = plain.filter((d) => d.kind === 'ServiceMonitor') as ServiceMonitor[];
  assert.deepEqual(
    gcpMonitors.map((m) => m.metadata?.name),
    ['drawbridge-controller'],
    'no speaker off bare metal',
  );
  assert.equal(gcpMonitors[0]?.spec.endpoints[0]?.scheme, 'http');
  assert.equal(gcpMonitors[0]?.spec.endpoints[0]?.bearerTokenFile, undefined);
});

test('the chart passes the image reference, pull secrets, pod annotations, affinity and priority classes through', async () => {
  const affinity = {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'lan', operator: 'In', values: ['a'] }] }],
      },
    },
  };
  const values = {
    image: { repository: 'registry.example.com/platform/drawbridge', tag: '1.2.3' },
    imagePullSecrets: [{ name: 'regcred' }],
    controller: {
      priorityClassName: 'system-cluster-critical',
      podAnnotations: { 'example.com/scrape': 'controller' },
      affinity,
    },
    speaker: {
      priorityClassName: 'system-node-critical',
      podAnnotations: { 'example.com/scrape': 'speaker' },
      nodeSelector: { 'example.com/lan': 'a' },
      tolerations: [{ key: 'example.com/edge', operator: 'Exists', effect: 'NoSchedule' }],
      affinity,
    },
  };
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-values-'));
  let docs: KubernetesObject[];
  try {
    await writeFile(join(dir, 'values.json'), JSON.stringify(values));
    docs = await helm('-f', join(chart, 'values-metal.yaml'), '-f', join(dir, 'values.json'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  await dryRunApply(docs);
  const controller = find<V1Deployment>(docs, 'Deployment')?.spec?.template;
  const speaker = daemonSet(docs, 'speaker')?.spec?.template;
  for (const [pod, name] of [
    [controller, 'controller'],
    [speaker, 'speaker'],
  ] as const) {
    assert.equal(pod?.spec?.containers[0]?.image, 'registry.example.com/platform/drawbridge:1.2.3', name);
    assert.deepEqual(pod?.spec?.imagePullSecrets, [{ name: 'regcred' }], name);
    assert.deepEqual(pod?.metadata?.annotations, { 'example.com/scrape': name });
    assert.deepEqual(pod?.spec?.affinity, affinity, name);
    assert.equal(pod?.spec?.priorityClassName, values[name].priorityClassName);
  }
  assert.deepEqual(speaker?.spec?.nodeSelector, values.speaker.nodeSelector);
  assert.deepEqual(
    speaker?.spec?.tolerations,
    values.speaker.tolerations,
    'the given tolerations replace "every node"',
  );
  // FRR runs where the speakers run, with their pull secrets and priority class; the annotations are the speakers'.
  const frr = daemonSet(docs, 'frr')?.spec?.template;
  assert.deepEqual(
    [frr?.spec?.nodeSelector, frr?.spec?.tolerations, frr?.spec?.affinity],
    [speaker?.spec?.nodeSelector, speaker?.spec?.tolerations, speaker?.spec?.affinity],
  );
  assert.deepEqual(frr?.spec?.imagePullSecrets, [{ name: 'regcred' }]);
  assert.equal(frr?.spec?.priorityClassName, 'system-node-critical');
  assert.equal(frr?.metadata?.annotations, undefined);

  const defaults = await helm('-f', join(chart, 'values-metal.yaml'));
  for (const [pod, name] of [
    [find<V1Deployment>(defaults, 'Deployment')?.spec?.template, 'controller'],
    [daemonSet(defaults, 'speaker')?.spec?.template, 'speaker'],
  ] as const) {
    assert.equal(pod?.spec?.containers[0]?.image, 'drawbridge:0.1.0', `${name}: the chart's appVersion by default`);
    assert.deepEqual(
      [pod?.spec?.imagePullSecrets, pod?.metadata?.annotations, pod?.spec?.affinity],
      [undefined, undefined, undefined],
    );
  }
  const frrImage = daemonSet(defaults, 'frr')?.spec?.template.spec?.containers[0]?.image;
  assert.equal(frrImage, 'drawbridge-frr:0.1.0', 'the FRR image scripts/build-image --frr builds, by default');
});

test('the chart: speaker.bgp.handoverSeconds reaches FRR; speaker.bgp.enabled=false leaves FRR out entirely', async () => {
  const metal = join(chart, 'values-metal.yaml');
  const handover = await helm('-f', metal, '--set', 'speaker.bgp.handoverSeconds=300');
  assert.deepEqual(daemonSet(handover, 'frr')?.spec?.template.spec?.containers[0]?.env, [
    { name: 'SPEAKER_HANDOVER_SECONDS', value: '300' },
  ]);
  const off = await helm('-f', metal, '--set', 'speaker.bgp.enabled=false');
  await dryRunApply(off);
  assert.equal(daemonSet(off, 'frr'), undefined);
  const speaker = daemonSet(off, 'speaker')?.spec?.template.spec;
  assert.ok(speaker, 'the speakers still run, L2 only');
  assert.equal(
    speaker.containers[0]?.args?.some((a) => a.startsWith('--frr-socket-dir')),
    false,
  );
  assert.deepEqual(
    [speaker.volumes?.find((v) => v.name === 'frr-sockets'), speaker.securityContext?.supplementalGroups],
    [undefined, undefined],
  );
});

test("each overlay names the image under kustomize's images:, and a kustomization on top re-points it", async () => {
  // Drawbridge's own workloads: the controller and the speakers (FRR's image is checked apart).
  const images = (docs: KubernetesObject[]) =>
    docs
      .filter((d) => d.kind === 'Deployment' || (d.kind === 'DaemonSet' && d.metadata?.name !== 'drawbridge-frr'))
      .map((d) => (d as V1Deployment).spec?.template.spec?.containers[0]?.image);
  for (const provider of ['metal', 'gcp', 'aws']) {
    const overlay = join(repo, 'deploy/overlays', provider);
    const own = await readFile(join(overlay, 'kustomization.yaml'), 'utf8');
    assert.match(own, /images:\n\s+- name: drawbridge\n/, `${provider} has an images: entry to edit`);
    const built = await kustomize(provider);
    assert.deepEqual(new Set(images(built)), new Set(['drawbridge:0.1.0']));
    const frr = daemonSet(built, 'frr')?.spec?.template.spec?.containers[0];
    assert.equal(frr?.image, provider === 'metal' ? 'drawbridge-frr:0.1.0' : undefined, 'scripts/build-image --frr');

    // What a user's own kustomization (or `kustomize edit set image`) does on top of the overlay.
    const dir = await mkdtemp(join(tmpdir(), 'drawbridge-kustomize-'));
    try {
      await writeFile(
        join(dir, 'kustomization.yaml'),
        `resources: [${relative(dir, overlay)}]\nimages:\n  - { name: drawbridge, newName: registry.example.com/platform/drawbridge, newTag: 1.2.3 }\n`,
      );
      const docs = load(await render((await manifestTools()).kustomize, ['build', dir]));
      const rendered = images(docs);
      assert.equal(rendered.length, provider === 'metal' ? 2 : 1, 'the controller (and the speakers on metal)');
      assert.deepEqual(new Set(rendered), new Set(['registry.example.com/platform/drawbridge:1.2.3']));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
});

test('the speakers get a membership key: a random Secret (Helm), or a create-only Job (kustomize), mounted and passed', async () => {
  const [first, second] = [await helm(), await helm()];
  const keyOf = (docs: KubernetesObject[]) =>
    find<KubernetesObject & { data?: Record<string, string> }>(docs, 'Secret', 'drawbridge-membership-key')?.data?.key;
  const key = keyOf(first);
  assert.ok(key && Buffer.from(key, 'base64').length >= 32, 'a key of at least 32 bytes');
  assert.notEqual(keyOf(second), key, 'random: each install (no Secret to look up) gets its own');
  const secret = find<KubernetesObject>(first, 'Secret', 'drawbridge-membership-key');
  assert.equal(secret?.metadata?.annotations?.['helm.sh/resource-policy'], 'keep', 'kept when the release goes');
  const own = await helm('--set', 'speaker.membershipKey.existingSecret=mine');
  assert.equal(keyOf(own), undefined, 'no Secret rendered when the user brings one');
  assert.equal(
    daemonSet(own, 'speaker')?.spec?.template.spec?.volumes?.find((v) => v.name === 'membership-key')?.secret
      ?.secretName,
    'mine',
  );

  const k = await kustomize('metal');
  const job = find<KubernetesObject & { spec: { template: { spec: { containers: { args: string[] }[] } } } }>(
    k,
    'Job',
    'drawbridge-speaker-key',
  );
  assert.deepEqual(job?.spec.template.spec.containers[0]?.args, [
    'speaker-key',
    '--namespace=drawbridge-system',
    '--name=drawbridge-membership-key',
  ]);
  const role = find<KubernetesObject & { rules: { resources: string[]; verbs: string[] }[] }>(
    k,
    'Role',
    'drawbridge-speaker-key',
  );
  assert.deepEqual(role?.rules, [{ apiGroups: [''], resources: ['secrets'], verbs: ['create'] }], 'create only');
  for (const docs of [first, k]) {
    const pod = daemonSet(docs, 'speaker')?.spec?.template.spec;
    const args = pod?.containers[0]?.args ?? [];
    assert.ok(args.includes('--membership-key-file=/etc/drawbridge/membership/key'));
    assert.ok(args.includes('--membership-key-file-previous=/etc/drawbridge/membership/previous'));
    assert.ok(!args.includes('--insecure-membership'));
    const mount = pod?.containers[0]?.volumeMounts?.find((m) => m.name === 'membership-key');
    assert.equal(mount?.mountPath, '/etc/drawbridge/membership');
    assert.equal(mount?.subPath, undefined, 'a directory mount, so the kubelet updates a rotated key in place');
    assert.equal(
      pod?.volumes?.find((v) => v.name === 'membership-key')?.secret?.secretName,
      'drawbridge-membership-key',
    );
  }
});

test('the chart names no provider list: a provider added to the code deploys with --set provider=<name>', async () => {
  const docs = await helm('--set', 'provider=echo');
  const args = find<V1Deployment>(docs, 'Deployment')?.spec?.template.spec?.containers[0]?.args ?? [];
  assert.ok(args.includes('--provider=echo'), 'the name is passed to the controller, which checks it');
  assert.equal(find<V1DaemonSet>(docs, 'DaemonSet'), undefined, 'the speakers are metal only');
  await assert.rejects(helm('--set', 'provider=Not A Name'), /provider must be a provider's name/);
});
