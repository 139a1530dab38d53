// `drawbridge demo`: a local control plane, three Nodes, an AddressPool, the controller, and a LoadBalancer
// Service that gets its EXTERNAL-IP, printed the way `kubectl get svc` prints it.
// The control plane comes from test/env (loaded only here, so the controller itself never depends on it; the npm
// package ships it compiled). Its kube-apiserver and etcd are the cached ones (~/.cache/drawbridge/bin), built once
// with Go when missing, or the caller's own (--kube-apiserver, --etcd).
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig, type V1Service } from '@kubernetes/client-node';
import { type Command, Option } from 'commander';
import { providerDefinition, providerNames } from '../../providers/index.ts';
import { providerFactory } from '../../src/commands/provider-config.ts';
import { formatServices } from '../../src/commands/table.ts';
import type { ProviderDefinition } from '../../src/contract/provider.ts';
import { parseControllerConfig } from '../../src/core/controller/config.ts';
import { Controller } from '../../src/core/controller/controller.ts';
import { createLogger } from '../../src/lib/observe/logging.ts';
import { startObservabilityServer } from '../../src/lib/observe/server.ts';
import { createDemoObjects, DEMO_NAMESPACE, DEMO_NODES, startNodeHealthServers } from './cluster.ts';
import { type DemoSetup, DemoUnavailableError, demoHooksFor } from './hooks.ts';

const say = (line: string) => process.stderr.write(`drawbridge demo: ${line}\n`);

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'Start a local control plane, run the controller and show a LoadBalancer Service getting its EXTERNAL-IP',
    )
    .addOption(new Option('--provider <name>', 'provider to demonstrate').choices([...providerNames]).default('metal'))
    .option('--keep', 'leave the control plane and the controller running, and print how to reach and stop them', false)
    .option('--down', 'stop what `demo --keep` left running', false)
    .option(
      '--kube-apiserver <path>',
      'kube-apiserver binary to run (with --etcd; default: the one in ~/.cache/drawbridge/bin, built once with Go)',
    )
    .option('--etcd <path>', 'etcd binary to run (with --kube-apiserver)')
    .action(
      async (flags: { provider: string; keep: boolean; down: boolean; kubeApiserver?: string; etcd?: string }) => {
        if (flags.down) {
          const { ensureDown } = await import('../env/state.ts');
          await ensureDown(say);
          return;
        }
        const provider = providerDefinition(flags.provider);
        // Read by test/env/binaries.ts wherever the control plane is started.
        if (flags.kubeApiserver) process.env.DRAWBRIDGE_KUBE_APISERVER = flags.kubeApiserver;
        if (flags.etcd) process.env.DRAWBRIDGE_ETCD = flags.etcd;
        try {
          await (flags.keep ? demoKeep(provider) : demoOnce(provider));
        } catch (error) {
          if (error instanceof DemoUnavailableError) {
            say(error.message);
            process.exit(1);
          }
          if (!(await isControlPlaneFailure(error))) throw error;
          say(`cannot start a local control plane: ${(error as Error).message}`);
          say(
            'give your own binaries with --kube-apiserver <path> --etcd <path> (Kubernetes 1.33, etcd 3.5), or ' +
              'install Go and run again to build them (once)',
          );
          process.exit(1);
        }
      },
    );

  // The long-running half of `demo --keep`: node healthz servers + controller, until SIGTERM.
  program
    .command('demo-agent', { hidden: true })
    .requiredOption('--kubeconfig <path>')
    .requiredOption('--provider <name>')
    .option('--backend-port <port>', "where the provider's demo backend listens", Number)
    .action(async (flags: { kubeconfig: string; provider: string; backendPort?: number }) => {
      const provider = providerDefinition(flags.provider);
      // Same set-up as the demo that spawned us: with keep, it reuses what that one left running.
      const options = { keep: true, kubeconfigPath: flags.kubeconfig, say: () => {} };
      const setup = (await demoHooksFor(provider.name).setUp?.(options)) ?? {};
      const agent = await startAgent(loadKubeConfig(flags.kubeconfig), provider, flags.backendPort, setup);
      const stop = async () => {
        await agent.stop();
        process.exit(0);
      };
      process.on('SIGTERM', () => void stop());
      process.on('SIGINT', () => void stop());
    });
}

/** Errors that mean "no control plane could be started here", as opposed to a bug in the demo. */
async function isControlPlaneFailure(error: unknown): Promise<boolean> {
  const { BinariesUnavailableError } = await import('../env/binaries.ts');
  if (error instanceof BinariesUnavailableError) return true;
  // The apiserver's certificates are made with openssl.
  if ((error as NodeJS.ErrnoException)?.code === 'ENOENT' && /openssl/.test(String(error))) {
    (error as Error).message = "openssl is required on PATH to make the control plane's certificates";
    return true;
  }
  return false;
}

async function demoOnce(provider: ProviderDefinition): Promise<void> {
  const { startControlPlane } = await import('../env/controlplane.ts');
  say('starting a local kube-apiserver + etcd on loopback...');
  const cp = await startControlPlane();
  const hooks = demoHooksFor(provider.name);
  let agent: Agent | undefined;
  let settingUp: Promise<DemoSetup> | undefined;
  let stopping: Promise<void> | undefined;
  // What the demo started, stopped once, whether it ends, fails or is interrupted (Ctrl-C: metal's lab of network
  // namespaces would otherwise outlive it).
  const stop = () =>
    (stopping ??= (async () => {
      await agent?.stop();
      await (await settingUp?.catch(() => undefined))?.tearDown?.();
      await cp.stop();
    })());
  const interrupted = () => {
    say('interrupted: stopping what the demo started...');
    void stop().finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted).once('SIGTERM', interrupted);
  try {
    say(`creating ${hooks.describe}, Nodes demo-node-1..3 and Service demo/web...`);
    settingUp = hooks.setUp?.({ keep: false, kubeconfigPath: cp.kubeconfigPath, say }) ?? Promise.resolve({});
    const setup = await settingUp;
    await createDemoObjects(cp.kubeConfig, provider, setup);
    // Started beside the controller (they need only the pool and the Nodes), awaited after the table.
    const speakers = setup.traffic?.startSpeakers();
    speakers?.catch(() => {});
    const backendPort = hooks.backend ? await freePort() : undefined;
    agent = await startAgent(cp.kubeConfig, provider, backendPort, setup);
    const svc = await waitForExternalIp(cp.kubeConfig);
    await show(cp.kubeConfig, svc, agent.metricsPort, provider, backendPort, setup);
    if (setup.traffic) {
      await speakers;
      if (!(await setup.traffic.show(svc))) process.exitCode = 1;
    }
  } finally {
    process.off('SIGINT', interrupted).off('SIGTERM', interrupted);
    await stop();
  }
  const setup = await settingUp;
  const backend = setup?.tearDown || hooks.backend ? ', the provider backend' : '';
  const lab = setup?.traffic ? ', the speakers and the demo LAN' : '';
  say(`stopped the controller${lab || backend} and the control plane (run with --keep to leave them running)`);
}

async function demoKeep(provider: ProviderDefinition): Promise<void> {
  const { ensureUp, readState, writeState, stateDir } = await import('../env/state.ts');
  const state = await ensureUp(say);
  const kubeConfig = loadKubeConfig(state.kubeconfigPath);
  const other = await keptProviderOtherThan(kubeConfig, provider.name);
  if (other !== undefined) {
    say(`a kept ${other} demo is running on this control plane; stop it first with \`drawbridge demo --down\``);
    process.exit(1);
  }
  const options = { keep: true, kubeconfigPath: state.kubeconfigPath, say };
  const setup = (await demoHooksFor(provider.name).setUp?.(options)) ?? {};
  await createDemoObjects(kubeConfig, provider, setup);
  const running = (state.extra ?? []).find((p) => p.name === 'drawbridge controller');
  let backendPort = running?.port;
  if (!running) {
    const log = openSync(join(stateDir, 'controller.log'), 'a');
    // main.ts in a checkout, the compiled main.js in an installed package (this module's own extension says which).
    const main = fileURLToPath(
      new URL(`../../src/commands/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url),
    );
    const args = [main, 'demo-agent', '--kubeconfig', state.kubeconfigPath, '--provider', provider.name];
    if (demoHooksFor(provider.name).backend) {
      backendPort = await freePort();
      args.push('--backend-port', String(backendPort));
    }
    const child = spawn(process.execPath, args, {
      detached: true,
      stdio: ['ignore', log, log],
    });
    child.unref();
    const current = (await readState()) ?? state;
    await writeState({
      ...current,
      extra: [...(current.extra ?? []), { name: 'drawbridge controller', pid: child.pid ?? 0, port: backendPort }],
    });
    say(`controller running in the background (pid ${child.pid}, log ${join(stateDir, 'controller.log')})`);
  }
  const svc = await waitForExternalIp(kubeConfig);
  await show(kubeConfig, svc, undefined, provider, backendPort, setup);
  console.log(`\nexport KUBECONFIG=${state.kubeconfigPath}`);
  console.log('kubectl describe svc -n demo web     # the Events');
  console.log('drawbridge demo --down               # stop the controller and the control plane');
  if (setup.stopCommand) console.log(`${setup.stopCommand.padEnd(36)} # stop the ${provider.name} backend`);
}

/** The provider of the demo Service a kept demo left (when not `provider`): its class names it. */
async function keptProviderOtherThan(kubeConfig: KubeConfig, provider: string): Promise<string | undefined> {
  const svc = await kubeConfig
    .makeApiClient(CoreV1Api)
    .readNamespacedService({ name: 'web', namespace: DEMO_NAMESPACE })
    .catch((e: { code?: number }) => {
      if (e.code === 404) return undefined;
      throw e;
    });
  const kept = svc?.spec?.loadBalancerClass?.replace(/^drawbridge\.io\//, '');
  return kept !== undefined && kept !== provider ? kept : undefined;
}

interface Agent {
  metricsPort: number;
  stop(): Promise<void>;
}

/** The provider configuration of the demo's controller: its backend's when it has one. */
function demoConfig(
  provider: ProviderDefinition,
  backendPort: number | undefined,
): Record<string, unknown> | undefined {
  const backend = demoHooksFor(provider.name).backend;
  return backend && backendPort !== undefined ? backend.config(backendPort) : demoHooksFor(provider.name).config;
}

/** A port free right now on loopback, so a background process's backend can be found again later. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startAgent(
  kubeConfig: KubeConfig,
  provider: ProviderDefinition,
  backendPort: number | undefined,
  setup: DemoSetup,
): Promise<Agent> {
  const demoBackend = demoHooksFor(provider.name).backend;
  const backend =
    demoBackend && backendPort !== undefined ? await demoBackend.start(backendPort, DEMO_NODES) : undefined;
  // The Nodes' own healthz when the set-up gave them one (metal's LAN), else one per Node on loopback.
  const health = setup.healthPort === undefined ? await startNodeHealthServers() : undefined;
  const config = parseControllerConfig({
    provider: provider.name,
    providerConfig: { ...demoConfig(provider, backendPort), ...setup.config },
    leaderElection: { namespace: 'kube-system' },
    health: { port: setup.healthPort ?? health!.port, intervalSeconds: 2, timeoutSeconds: 1 },
    nodeDebounceSeconds: 0.2,
    metrics: { host: '127.0.0.1', port: 0 },
    logLevel: 'warn',
  });
  const controller = new Controller({
    config,
    kubeConfig,
    provider: providerFactory(config),
    log: createLogger({ level: config.logLevel }),
  });
  const server = await startObservabilityServer({
    host: config.metrics.host,
    port: config.metrics.port,
    metrics: controller.metrics,
    isReady: () => controller.isReady,
    isHealthy: () => controller.isHealthy,
  });
  await controller.start();
  return {
    metricsPort: server.port,
    stop: async () => {
      await controller.stop();
      await server.close();
      await health?.close();
      await backend?.stop();
    },
  };
}

async function waitForExternalIp(kubeConfig: KubeConfig): Promise<V1Service> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    const svc = await core.readNamespacedService({ name: 'web', namespace: DEMO_NAMESPACE });
    if (svc.status?.loadBalancer?.ingress?.length) return svc;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error('Service demo/web got no EXTERNAL-IP within 60 s; see the controller log');
}

async function show(
  kubeConfig: KubeConfig,
  svc: V1Service,
  metricsPort: number | undefined,
  definition: ProviderDefinition,
  backendPort: number | undefined,
  setup: DemoSetup,
): Promise<void> {
  const provider = definition.name;
  const core = kubeConfig.makeApiClient(CoreV1Api);
  console.log(`$ kubectl get svc -n ${DEMO_NAMESPACE}`);
  console.log(formatServices([svc]));
  const described = await demoHooksFor(definition.name).show?.(svc, demoConfig(definition, backendPort) ?? {});
  if (described?.length) console.log(`\n${described.join('\n')}`);
  if (setup.show) {
    console.log(`\nWhat the ${provider} backend holds for ${DEMO_NAMESPACE}/web:`);
    // The controller's default cluster name: the demo does not set one.
    for (const line of await setup.show(svc, 'drawbridge')) console.log(`  ${line}`);
  }
  const events = await core.listNamespacedEvent({
    namespace: DEMO_NAMESPACE,
    fieldSelector: 'involvedObject.name=web',
  });
  console.log(`\nEvents of ${DEMO_NAMESPACE}/web:`);
  // resourceVersion grows with every write, so it orders Events recorded within the same second.
  const inOrder = events.items.sort(
    (a, b) => Number(a.metadata?.resourceVersion) - Number(b.metadata?.resourceVersion),
  );
  for (const e of inOrder) {
    console.log(`  ${(e.type ?? '').padEnd(8)} ${(e.reason ?? '').padEnd(22)} ${e.message ?? ''}`);
  }
  if (metricsPort !== undefined) {
    const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    const lines = text
      .split('\n')
      .filter((l) =>
        new RegExp(
          `^drawbridge_(reconcile_total|load_balancer_changes_total|${provider}_\\w+|node_health|leader)\\{`,
        ).test(l),
      );
    console.log(`\nFrom http://127.0.0.1:${metricsPort}/metrics:`);
    for (const l of lines) console.log(`  ${l}`);
  }
}

/** --kubeconfig, else client-node's defaults ($KUBECONFIG, ~/.kube/config, in-cluster). */
function loadKubeConfig(path: string | undefined): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  return kc;
}
