// Test helper: one real control plane per integration test file, started in before() and stopped in after().
// Each file gets its own apiserver because controllers under test watch cluster-scoped objects (Nodes, pools);
// node --test runs files in separate processes, so files can run in parallel without sharing state.
import { after, before } from 'node:test';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from './controlplane.ts';

export interface TestCluster {
  readonly kubeConfig: KubeConfig;
  readonly kubeconfigPath: string;
  readonly core: CoreV1Api;
}

export interface ClusterHooks {
  /** Runs once the control plane is ready (install CRDs, start a controller, ...). */
  setup?: (cluster: TestCluster) => Promise<void>;
  /** Runs before the control plane stops (stop controllers first, so they do not log a storm of errors). */
  teardown?: () => Promise<void>;
  /** Options for this file's control plane (extra apiserver flags). */
  controlPlane?: ControlPlaneOptions;
}

/**
 * Call once at the top level of a test file. node:test starts a top-level before() hook as soon as it is
 * registered, so a file must not add its own: it passes setup/teardown here and they run in order.
 */
export function useControlPlane(hooks: ClusterHooks = {}): TestCluster {
  let cp: ControlPlane | undefined;
  let core: CoreV1Api | undefined;
  before(async () => {
    cp = await startControlPlane(hooks.controlPlane);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    await hooks.setup?.(cluster);
  });
  after(async () => {
    try {
      await hooks.teardown?.();
    } finally {
      await cp?.stop();
    }
  });
  const started = () => {
    if (!cp || !core)
      throw new Error('control plane not started: call useControlPlane() at the top level of the test file');
    return { cp, core };
  };
  const cluster: TestCluster = {
    get kubeConfig() {
      return started().cp.kubeConfig;
    },
    get kubeconfigPath() {
      return started().cp.kubeconfigPath;
    },
    get core() {
      return started().core;
    },
  };
  return cluster;
}

/** Polls `probe` until it returns a value other than undefined, or fails with `what` after `timeoutMs`. */
export async function eventually<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
