// What `drawbridge demo --provider <name>` needs from a provider beyond the controller itself, and each provider's
// answer. Development tooling: it lives here, outside what ships, so the product carries no demo code.
import type { KubeConfig, V1Service } from '@kubernetes/client-node';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { gcpDemo } from './providers/gcp.ts';

/** What `drawbridge demo --provider <name>` needs from a provider beyond the controller itself. */
export interface DemoHooks {
  /** Objects the provider needs in a fresh cluster (metal: the AddressPool CRD and a pool). */
  prepareCluster?(kubeConfig: KubeConfig, setup: DemoSetup): Promise<void>;
  /** Configuration for the demo's controller. */
  config?: Record<string, unknown>;
  /** A one-line description of what the demo sets up, printed as it starts. */
  describe: string;
  /** A stand-in for the provider's cloud API, run next to the demo's controller (gcp: the GCE fake). */
  backend?: DemoBackend;
  /** The providerID of a demo Node (gcp: `gce://<project>/<zone>/<name>`, an instance the backend holds). */
  providerID?(nodeName: string): string;
  /** The Service's load balancer as the provider's API reports it (`config` is the demo controller's). */
  show?(service: V1Service, config: Record<string, unknown>): Promise<string[]>;
  /**
   * Starts what the demo needs outside the cluster, from the demo command itself (aws: a seeded moto endpoint, a
   * separate process that outlives the command with --keep; metal as root: the LAN its speakers answer on). With
   * `keep` it is left running and may be called again by the background controller, so it must reuse what is already
   * there. A backend that has to live in the controller's own process uses `backend` instead (gcp: the in-process
   * GCE fake). `say` prints one progress line; it throws DemoUnavailableError when the demo cannot run here.
   */
  setUp?(options: SetUpOptions): Promise<DemoSetup>;
}

/** Runs in the process that runs the demo's controller (for `--keep`, the background one). */
export interface DemoBackend {
  /** The provider configuration pointing at a backend on 127.0.0.1:`port` (replaces `DemoHooks.config`). */
  config(port: number): Record<string, unknown>;
  /** Starts it on 127.0.0.1:`port`, holding what the demo Nodes need (gcp: their instances). */
  start(port: number, nodeNames: readonly string[]): Promise<{ stop(): Promise<void> }>;
}

export interface SetUpOptions {
  keep: boolean;
  /** The demo's control plane (the speakers of metal's traffic lab connect to it). */
  kubeconfigPath: string;
  say(line: string): void;
}

/** A demo that cannot run on this machine: its message says, in one line, what it needs. */
export class DemoUnavailableError extends Error {}

/** What a provider's demo set-up hands back to the generic demo. */
export interface DemoSetup {
  /** providerIDs for the demo Nodes, in order (aws: the seeded EC2 instances); the default Nodes have none. */
  providerIDs?: string[];
  /** The demo Nodes' InternalIPs, in order (metal as root: their namespaces' addresses); default 127.0.0.11-13. */
  nodeAddresses?: string[];
  /** Where the demo Nodes serve kube-proxy's /healthz (metal as root: in their namespaces); default: the demo's own. */
  healthPort?: number;
  /** The addresses the demo's pool holds (metal as root: a range on its LAN); default DEMO_POOL_CIDR. */
  pool?: string[];
  /** Traffic to the Service's address (metal as root): speakers started once the objects exist, shown last. */
  traffic?: {
    startSpeakers(): Promise<void>;
    /** Prints what the client sees; false when something did not happen as it should. */
    show(service: Readonly<V1Service>): Promise<boolean>;
  };
  /** Controller provider-config, over DemoHooks.config (aws: the endpoint it started). */
  config?: Record<string, unknown>;
  /** Lines describing what the backend holds for the Service, read back from it, printed after the Events. */
  show?(service: Readonly<V1Service>, clusterName: string): Promise<string[]>;
  /** Stops what setUp started (skipped with --keep). */
  tearDown?(): Promise<void>;
  /** With --keep: the command that stops what setUp left running, printed with the others. */
  stopCommand?: string;
}

/**
 * TEST-NET-2 (RFC 5737): documentation addresses, the pool when the demo shows allocation only (not root, or
 * --keep): it allocates them and never sends them traffic.
 */
export const DEMO_POOL_CIDR = '198.51.100.0/28';

const hooks: Record<string, DemoHooks> = {
  metal: {
    describe: 'the AddressPool CRD and pool demo-pool',
    setUp: async (options) => (await import('./providers/metal.ts')).setUpMetalDemo(options),
    prepareCluster: async (kubeConfig, setup) => {
      await installAddressPoolCrd(kubeConfig);
      await createPool(kubeConfig, 'demo-pool', setup.pool ?? [DEMO_POOL_CIDR], { avoidBuggyIPs: true }).catch(
        (e: { code?: number }) => {
          if (e.code !== 409) throw e;
        },
      );
    },
  },
  gcp: gcpDemo,
  aws: {
    describe: 'a moto endpoint (localstack/start) with one EC2 instance per demo Node',
    setUp: async (options) => (await import('./providers/aws.ts')).setUpAwsDemo(options),
  },
  fake: { describe: 'an in-memory load balancer per Service (no cloud, no announcements)' },
};

/** The demo hooks of a provider; a provider without any gets a generic description. */
export function demoHooksFor(provider: string): DemoHooks {
  return hooks[provider] ?? { describe: 'nothing provider-specific' };
}
