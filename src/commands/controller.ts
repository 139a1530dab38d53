// `drawbridge controller`: run the controller against the cluster in --kubeconfig (or in-cluster config).

import { type Command, Option } from 'commander';
import { allProviderDefinitions, providerNames } from '../../providers/index.ts';
import {
  ConfigError,
  type ControllerConfig,
  ControllerConfigSchema,
  parseControllerConfig,
} from '../core/controller/config.ts';
import { Controller, type ProviderFactory } from '../core/controller/controller.ts';
import { type KubeSource, loadKubeClient } from '../lib/kube/api/source.ts';
import { createLogger } from '../lib/observe/logging.ts';
import { metricsSecurity, metricsSecurityOptions } from '../lib/observe/metrics-security.ts';
import { startObservabilityServer } from '../lib/observe/server.ts';
import { providerFactory } from './provider-config.ts';
import { addProviderOptions, num, providerConfigFrom } from './provider-flags.ts';

// Defaults come from the one schema, so --help cannot drift from what the controller does.
const d = ControllerConfigSchema.parse({ provider: 'metal', identity: '<hostname>-<pid>' });

export interface ControllerFlags {
  provider: string;
  providerConfig?: string;
  /** Provider flags (--<provider>-<name>), camel-cased by commander. */
  [providerFlag: string]: unknown;
  kubeconfig?: string;
  clusterName?: string;
  loadBalancerClass?: string;
  ownClassless?: boolean;
  concurrency?: number;
  providerCallTimeout?: number;
  backoffBase?: number;
  backoffMax?: number;
  resync?: number;
  nodeDebounce?: number;
  nodeDebounceMax?: number;
  healthPort?: number;
  healthPath?: string;
  healthInterval?: number;
  healthTimeout?: number;
  healthFailureThreshold?: number;
  leaderElect?: boolean;
  leaderElectNamespace?: string;
  leaderElectName?: string;
  leaseDuration?: number;
  renewDeadline?: number;
  retryPeriod?: number;
  identity?: string;
  metricsBindAddress?: string;
  metricsSecure?: boolean;
  metricsCertDir?: string;
  logLevel?: string;
}

export function registerController(program: Command): void {
  const [metricsSecure, metricsCertDir] = metricsSecurityOptions(d.metrics.secure);
  const command = program
    .command('controller')
    .description('Watch LoadBalancer Services and converge their load balancers through a provider')
    .addOption(
      new Option(
        '--provider <name>',
        `provider adapter: ${allProviderDefinitions()
          .map((d) => `${d.name} (${d.summary})`)
          .join('; ')}`,
      )
        .choices([...providerNames])
        .makeOptionMandatory(),
    )

    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .option(
      '--cluster-name <name>',
      `cluster name used in cloud resource names and ownership tags (default: ${d.clusterName})`,
    )
    .option('--load-balancer-class <class>', 'loadBalancerClass served (default: drawbridge.io/<provider>)')
    .option('--own-classless', `also own Services with no loadBalancerClass (default: ${d.ownClassless})`)
    .option(
      '--concurrency <n>',
      'Services reconciled in parallel; a worker mostly waits on provider and API round trips, and the ' +
        "provider's own rate limiters bound the calls a cloud sees, so this only caps how many wait at once " +
        `(default: ${d.concurrency})`,
      num,
    )
    .option(
      '--provider-call-timeout <seconds>',
      'longest one provider call may take; then its signal is aborted and the Service retried with backoff ' +
        `(metric drawbridge_provider_call_timeouts_total); 0: no limit (default: ${d.providerCallTimeoutSeconds})`,
      num,
    )
    .option('--backoff-base <seconds>', `first retry delay after a failure (default: ${d.backoffBaseSeconds})`, num)
    .option('--backoff-max <seconds>', `longest retry delay (default: ${d.backoffMaxSeconds})`, num)
    .option(
      '--resync <seconds>',
      `reconcile every Service this often to repair drift; 0 disables (default: ${d.resyncSeconds})`,
      num,
    )
    .option(
      '--node-debounce <seconds>',
      `quiet time that ends a burst of node changes (default: ${d.nodeDebounceSeconds})`,
      num,
    )
    .option(
      '--node-debounce-max <seconds>',
      `longest a burst can delay a node update (default: ${d.nodeDebounceMaxSeconds})`,
      num,
    )
    .option('--health-port <port>', `node health check port, kube-proxy's healthz (default: ${d.health.port})`, num)
    .option('--health-path <path>', `node health check path (default: ${d.health.path})`)
    .option('--health-interval <seconds>', `node probe interval (default: ${d.health.intervalSeconds})`, num)
    .option('--health-timeout <seconds>', `node probe timeout (default: ${d.health.timeoutSeconds})`, num)
    .option(
      '--health-failure-threshold <n>',
      `failed probes before a node is unhealthy (default: ${d.health.failureThreshold})`,
      num,
    )
    .option(
      '--no-leader-elect',
      `run without leader election (default: leader election ${d.leaderElection.enabled ? 'on' : 'off'})`,
    )
    .option('--leader-elect-namespace <ns>', `namespace of the leader Lease (default: ${d.leaderElection.namespace})`)
    .option('--leader-elect-name <name>', `name of the leader Lease (default: ${d.leaderElection.name})`)
    .option(
      '--lease-duration <seconds>',
      `how long a leader's Lease is valid (default: ${d.leaderElection.leaseDurationSeconds})`,
      num,
    )
    .option(
      '--renew-deadline <seconds>',
      `leader gives up if it cannot renew within this (default: ${d.leaderElection.renewDeadlineSeconds})`,
      num,
    )
    .option(
      '--retry-period <seconds>',
      `how often to try to acquire or renew (default: ${d.leaderElection.retryPeriodSeconds})`,
      num,
    )
    .option('--identity <id>', `this replica's leader-election identity (default: ${d.identity})`)
    .option(
      '--metrics-bind-address <host:port>',
      `serve /metrics, /healthz, /readyz here; "0" disables (default: ${d.metrics.host}:${d.metrics.port})`,
    )
    // The same two flags, with the same meaning, as `drawbridge speaker`'s.
    .addOption(metricsSecure)
    .addOption(metricsCertDir)
    .addOption(
      new Option('--log-level <level>', `log level (default: ${d.logLevel})`).choices([
        'fatal',
        'error',
        'warn',
        'info',
        'debug',
        'trace',
        'silent',
      ]),
    );
  addProviderOptions(command);
  command.action(async (flags: ControllerFlags) => {
    let config: ControllerConfig;
    let provider: ProviderFactory;
    try {
      config = configFromFlags(flags);
      // The provider's own schema, before anything is watched or written.
      provider = providerFactory(config);
    } catch (error) {
      if (error instanceof ConfigError) {
        process.stderr.write(`drawbridge controller: ${error.message}\n`);
        process.exit(2);
      }
      throw error;
    }
    await runController(config, loadKubeClient(flags.kubeconfig), provider);
  });
}

export function configFromFlags(f: ControllerFlags): ControllerConfig {
  const metrics = {
    ...parseBindAddress(f.metricsBindAddress),
    secure: f.metricsSecure,
    certDir: f.metricsCertDir,
  };
  return parseControllerConfig({
    provider: f.provider,
    providerConfig: providerConfigFrom(f.provider, f),
    clusterName: f.clusterName,
    loadBalancerClass: f.loadBalancerClass,
    ownClassless: f.ownClassless,
    concurrency: f.concurrency,
    providerCallTimeoutSeconds: f.providerCallTimeout,
    backoffBaseSeconds: f.backoffBase,
    backoffMaxSeconds: f.backoffMax,
    resyncSeconds: f.resync,
    nodeDebounceSeconds: f.nodeDebounce,
    nodeDebounceMaxSeconds: f.nodeDebounceMax,
    health: {
      port: f.healthPort,
      path: f.healthPath,
      intervalSeconds: f.healthInterval,
      timeoutSeconds: f.healthTimeout,
      failureThreshold: f.healthFailureThreshold,
    },
    leaderElection: {
      enabled: f.leaderElect,
      namespace: f.leaderElectNamespace,
      name: f.leaderElectName,
      leaseDurationSeconds: f.leaseDuration,
      renewDeadlineSeconds: f.renewDeadline,
      retryPeriodSeconds: f.retryPeriod,
    },
    identity: f.identity,
    metrics,
    logLevel: f.logLevel as ControllerConfig['logLevel'] | undefined,
  });
}

function parseBindAddress(value: string | undefined): { host?: string; port?: number } | undefined {
  if (value === undefined) return undefined;
  if (value === '0') return { port: -1 };
  const match = /^(.*):(\d+)$/.exec(value);
  if (!match) throw new ConfigError([`metrics-bind-address: "${value}" is not host:port`]);
  return { host: match[1] || '0.0.0.0', port: Number(match[2]) };
}

/** Runs until SIGTERM/SIGINT (exit 0 after a graceful stop) or until leadership is lost (exit 1). */
export async function runController(
  config: ControllerConfig,
  kubeConfig: KubeSource,
  provider: ProviderFactory = providerFactory(config),
): Promise<void> {
  const log = createLogger({ level: config.logLevel });
  const controller = new Controller({
    config,
    kubeConfig,
    provider,
    log,
    onLostLeadership: () => {
      log.error('lost the leader lease; exiting so a fresh start re-reads the world');
      process.exit(1);
    },
  });
  const server =
    config.metrics.port >= 0
      ? await startObservabilityServer({
          host: config.metrics.host,
          port: config.metrics.port,
          metrics: controller.metrics,
          isReady: () => controller.isReady,
          isHealthy: () => controller.isHealthy,
          ...(await metricsSecurity(config.metrics, kubeConfig)),
        })
      : undefined;
  if (server) log.info({ port: server.port, scheme: server.scheme }, 'serving /metrics, /healthz, /readyz');
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    await controller.stop();
    await server?.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  try {
    await controller.start();
  } catch (error) {
    // Start-up failures (a provider that cannot reach its cloud, an apiserver that refuses us) are one line for
    // the operator, not a stack trace; the log has the details at debug level.
    log.debug({ err: error }, 'start-up failed');
    process.stderr.write(`drawbridge controller: ${(error as Error).message ?? String(error)}\n`);
    process.exit(1);
  }
}
