// Starts a real etcd + kube-apiserver on free loopback ports and hands back a kubeconfig for it.
//
// Two lifetimes:
// - guarded (tests): each process runs under guard.sh, which ends it when this Node process disappears, so even a
//   crashed or killed test run leaves nothing behind;
// - detached (`test/env/up`): the processes outlive the command; `test/env/down` stops them from the state file.
import { type ChildProcess, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeConfig } from '@kubernetes/client-node';
import { controlPlaneBinaries } from './binaries.ts';
import { generatePki, type Pki } from './certs.ts';
import { freePort } from './ports.ts';

const guardScript = fileURLToPath(new URL('./guard.sh', import.meta.url));

/**
 * The Service ClusterIP ranges: dual-stack, so Services of every ipFamilyPolicy and family can be created. Only
 * allocated, never routed: no traffic goes to these addresses. IPv4 first: it is the primary family, which
 * single-stack Services without ipFamilies get and the `kubernetes` Service (10.96.0.1, in the serving cert) uses.
 * IPv6 /108: the largest kube-apiserver 1.33 accepts ("specified --service-cluster-ip-range[1] is too large; for
 * 128-bit addresses, the mask must be >= 108": at most 20 host bits per family, as IPv4's limit is /12).
 */
export const SERVICE_CLUSTER_IP_RANGES = { IPv4: '10.96.0.0/16', IPv6: 'fd00:96::/108' } as const;

export interface ControlPlaneOptions {
  /** Working directory (certs, etcd data, logs, kubeconfig). A fresh temp dir when omitted. */
  dir?: string;
  /** Leave the processes running after this Node process exits (test/env/up). */
  detached?: boolean;
  /** How long to wait for /readyz. */
  readyTimeoutMs?: number;
  /** More kube-apiserver flags (a test that needs compaction: --watch-cache=false, --etcd-compaction-interval). */
  apiserverArgs?: string[];
}

export interface ControlPlane {
  dir: string;
  server: string;
  kubeconfigPath: string;
  kubeConfig: KubeConfig;
  pids: { etcd: number; apiserver: number };
  /** Stops kube-apiserver and starts it again with the same port, certificates and etcd; resolves when ready. */
  restartApiserver(): Promise<void>;
  /** Stops etcd (the apiserver keeps running and fails its storage calls) until startEtcd(). */
  stopEtcd(): Promise<void>;
  /** Starts etcd again on the same ports and data directory; resolves once the apiserver is ready again. */
  startEtcd(): Promise<void>;
  stop(): Promise<void>;
}

export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'drawbridge-cp-')));
  await mkdir(dir, { recursive: true });
  const [bins, pki, etcdClient, etcdPeer, securePort] = await Promise.all([
    controlPlaneBinaries(),
    generatePki(dir),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const launch = options.detached ? launchDetached : launchGuarded;

  const etcdArgs = [
    '--name=default',
    `--data-dir=${join(dir, 'etcd')}`,
    `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
    `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
    `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
    `--initial-cluster=default=http://127.0.0.1:${etcdPeer}`,
    // Test data is disposable: skipping fsync makes etcd (and so every write) much faster.
    '--unsafe-no-fsync',
    '--log-level=warn',
  ];
  const apiArgs = [...apiserverArgs(pki, etcdClient, securePort, dir), ...(options.apiserverArgs ?? [])];
  let etcd = launch(dir, 'etcd', bins.etcd, etcdArgs);
  let apiserver = launch(dir, 'kube-apiserver', bins.apiserver, apiArgs);
  // Replaced in place when a process is restarted, so stop() always ends the current ones.
  const processes = [apiserver, etcd];
  const stop = () => stopProcesses(processes, dir, options.dir === undefined);
  const server = `https://127.0.0.1:${securePort}`;
  const readyTimeoutMs = options.readyTimeoutMs ?? 90_000;
  try {
    await waitReady(server, pki, readyTimeoutMs, processes);
    const kubeconfigPath = join(dir, 'kubeconfig');
    await writeFile(kubeconfigPath, renderKubeconfig(server, pki), { mode: 0o600 });
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(kubeconfigPath);
    return {
      dir,
      server,
      kubeconfigPath,
      kubeConfig,
      get pids() {
        return { etcd: etcd.pid ?? 0, apiserver: apiserver.pid ?? 0 };
      },
      async restartApiserver() {
        await stopProcesses([apiserver], dir, false);
        apiserver = launch(dir, 'kube-apiserver', bins.apiserver, apiArgs);
        processes[0] = apiserver;
        await waitReady(server, pki, readyTimeoutMs, processes);
      },
      async stopEtcd() {
        await stopProcesses([etcd], dir, false);
      },
      async startEtcd() {
        if (etcd.exitCode === null && etcd.signalCode === null) return;
        etcd = launch(dir, 'etcd', bins.etcd, etcdArgs);
        processes[1] = etcd;
        await waitReady(server, pki, readyTimeoutMs, processes);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

function apiserverArgs(pki: Pki, etcdPort: number, securePort: number, dir: string): string[] {
  return [
    `--etcd-servers=http://127.0.0.1:${etcdPort}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${securePort}`,
    '--advertise-address=127.0.0.1',
    `--cert-dir=${join(dir, 'apiserver-certs')}`,
    `--tls-cert-file=${pki.serverCert}`,
    `--tls-private-key-file=${pki.serverKey}`,
    `--client-ca-file=${pki.caCert}`,
    `--token-auth-file=${pki.tokenFile}`,
    '--authorization-mode=RBAC',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.saPublicKey}`,
    `--service-account-signing-key-file=${pki.saPrivateKey}`,
    `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGES.IPv4},${SERVICE_CLUSTER_IP_RANGES.IPv6}`,
    '--service-node-port-range=30000-32767',
    // The endpoint reconciler would try to publish 127.0.0.1 as the `kubernetes` Service endpoint, which
    // EndpointSlice validation rejects for loopback; nothing here needs that endpoint.
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
    '--v=0',
  ];
}

function logFile(dir: string, name: string): number {
  return openSync(join(dir, `${name}.log`), 'a');
}

function launchGuarded(dir: string, name: string, binary: string, args: string[]): ChildProcess {
  const log = logFile(dir, name);
  // Its own process group: a Ctrl-C at the terminal reaches the command that started it (the demo), which stops the
  // control plane last, after what still talks to it; in the terminal's group the apiserver died with the keypress
  // and the demo's next request failed before its own SIGINT handler ran ("fetch failed", exit 1).
  const child = spawn('bash', [guardScript, String(process.pid), binary, ...args], {
    stdio: ['ignore', log, log],
    detached: true,
  });
  child.on('error', () => {});
  // A normal exit without stop() still ends the children at once (guard.sh covers crashes and SIGKILL).
  process.once('exit', () => child.kill('SIGTERM'));
  return child;
}

function launchDetached(dir: string, name: string, binary: string, args: string[]): ChildProcess {
  const log = logFile(dir, name);
  const child = spawn(binary, args, { stdio: ['ignore', log, log], detached: true });
  child.unref();
  return child;
}

async function stopProcesses(processes: ChildProcess[], dir: string, removeDir: boolean): Promise<void> {
  for (const child of processes) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  if (removeDir) await rm(dir, { recursive: true, force: true });
}

async function waitReady(server: string, pki: Pki, timeoutMs: number, processes: ChildProcess[]): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const { readFile } = await import('node:fs/promises');
  const ca = await readFile(pki.caCert);
  let last = 'no answer yet';
  while (Date.now() < deadline) {
    const dead = processes.find((p) => p.exitCode !== null);
    if (dead) throw new Error(`control plane process exited early (code ${dead.exitCode}); see its .log file`);
    last = await getReadyz(server, ca, pki.adminToken).catch((e: Error) => e.message);
    if (last === 'ok') return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`kube-apiserver not ready after ${timeoutMs} ms: ${last}`);
}

export function getReadyz(server: string, ca: Buffer, token: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}/readyz`,
      { ca, headers: { authorization: `Bearer ${token}` }, timeout: 2000 },
      (res) => {
        let body = '';
        res.on('data', (chunk) => {
          body += chunk;
        });
        res.on('end', () =>
          resolve(res.statusCode === 200 ? body.trim() : `HTTP ${res.statusCode}: ${body.slice(0, 200)}`),
        );
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

function renderKubeconfig(server: string, pki: Pki): string {
  // JSON is valid YAML; kubectl and client-node both read it.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'drawbridge-local', cluster: { server, 'certificate-authority': pki.caCert } }],
      users: [{ name: 'drawbridge-admin', user: { token: pki.adminToken } }],
      contexts: [{ name: 'drawbridge-local', context: { cluster: 'drawbridge-local', user: 'drawbridge-admin' } }],
      'current-context': 'drawbridge-local',
    },
    null,
    2,
  );
}
