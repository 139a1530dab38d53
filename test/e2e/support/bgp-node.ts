// A BGP lab node: in its namespace, FRR (bgp-frr.ts: deploy/frr/run, zebra, bfdd, bgpd with no configuration of
// their own) and `drawbridge speaker --frr-socket-dir` driving it, as the FRR and speaker DaemonSets do. The speaker
// can be stopped (SIGTERM: by default it leaves FRR as it is, with --bgp-on-stop=withdraw it withdraws first) and
// started again, FRR running on (an upgrade); FRR can be restarted under a running speaker.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject } from '@kubernetes/client-node';
import { bgpCrds } from '../../../providers/metal/model/bgp-crd.ts';
import { statusCodeOf } from '../../../src/lib/kube/api/errors.ts';
import { resourcePath } from '../../../src/lib/kube/api/paths.ts';
import { type KubeSource, kubeClientOf } from '../../../src/lib/kube/api/source.ts';
import { type Frr, startFrr, stopFrr } from './bgp-frr.ts';
import { probe } from './lab.ts';

const BIN = fileURLToPath(new URL('../../../bin/drawbridge.js', import.meta.url));

export interface BgpNodeOptions {
  ns: string;
  name: string;
  ip: string;
  ifname: string;
  /** Every node's membership address (`ip:port`). */
  peers: string[];
  kubeconfig: string;
  membershipKeyFile: string;
  /** FRR's directory (must exist, reachable by the user frr) and the speakers' logs. */
  frrDir: string;
  logDir: string;
  metricsPort: number;
  /** FRR's handover time (deploy/frr/run's SPEAKER_HANDOVER_SECONDS); default 90. */
  handoverSeconds?: number;
}

export class BgpNode {
  readonly o: BgpNodeOptions;
  frr: Frr;
  speaker: ChildProcess | undefined;
  private starts = 0;

  private constructor(o: BgpNodeOptions, frr: Frr) {
    this.o = o;
    this.frr = frr;
  }

  static async start(o: BgpNodeOptions): Promise<BgpNode> {
    const node = new BgpNode(o, await startFrr(o.ns, o.frrDir, o.handoverSeconds));
    try {
      await node.startSpeaker();
    } catch (error) {
      await stopFrr(node.frr);
      throw error;
    }
    return node;
  }

  /** Starts the speaker (with `extra` flags); resolves once it logged that it started. */
  async startSpeaker(extra: string[] = []): Promise<void> {
    const o = this.o;
    const logPath = join(o.logDir, `${o.name}-speaker-${++this.starts}.log`);
    const args = [
      ...['netns', 'exec', o.ns, process.execPath, BIN, 'speaker', '--node', o.name, '--interface', o.ifname],
      ...['--bind-address', o.ip, '--peers', o.peers.join(','), '--kubeconfig', o.kubeconfig, '--probation', '0'],
      ...['--metrics-bind-address', `127.0.0.1:${o.metricsPort}`, '--metrics-secure=false'],
      ...['--node-health-url', 'http://127.0.0.1:10256/healthz'],
      ...['--membership-key-file', o.membershipKeyFile, '--frr-socket-dir', this.frr.dir, '--log-level', 'debug'],
      ...extra,
    ];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(logPath);
    child.stderr!.pipe(log);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`speaker ${o.name} exited (${code}); see ${logPath}`)));
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        if (line.includes('"speaker started"')) resolve();
      });
    });
    this.speaker = child;
  }

  /** Stops FRR's daemons and starts new ones in the same directory (what the kubelet does when the frr container exits). */
  async restartFrr(): Promise<void> {
    await stopFrr(this.frr);
    this.frr = await startFrr(this.o.ns, this.o.frrDir, this.o.handoverSeconds);
  }

  /** Starts FRR again after it exited on its own (what the kubelet does); the speaker must be stopped. */
  async startFrr(): Promise<void> {
    this.frr = await startFrr(this.o.ns, this.o.frrDir, this.o.handoverSeconds);
  }

  /** SIGTERM (the graceful stop, an upgrade's) and wait for the exit; returns how long it took. */
  async stopSpeaker(): Promise<number> {
    const child = this.speaker;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return 0;
    const started = performance.now();
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    return performance.now() - started;
  }

  /** A metric's value from the speaker's /metrics (the first line starting with `name`), NaN if absent. */
  async metric(name: string): Promise<number> {
    const text = await probe(
      'ip',
      'netns',
      'exec',
      this.o.ns,
      'curl',
      '-s',
      `http://127.0.0.1:${this.o.metricsPort}/metrics`,
    );
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
  }

  async stop(): Promise<void> {
    this.speaker?.kill('SIGKILL');
    await stopFrr(this.frr);
  }
}

/** Creates the BGPPeer, BGPAdvertisement and BFDProfile CRDs (as deploy/crds has them) and waits until they are served. */
export async function installBgpCrds(kube: KubeSource): Promise<void> {
  const client = kubeClientOf(kube);
  const crds = { group: 'apiextensions.k8s.io', version: 'v1', plural: 'customresourcedefinitions' };
  for (const { crd: rendered } of bgpCrds()) {
    const crd = rendered as KubernetesObject;
    await client.create(resourcePath(crds), crd).catch((e: unknown) => {
      if (statusCodeOf(e) !== 409) throw e;
    });
    for (let i = 0; ; i++) {
      const got = await client.get<{ status?: { conditions?: { type: string; status: string }[] } }>(
        resourcePath({ ...crds, name: crd.metadata!.name! }),
      );
      if (got.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (i > 100) throw new Error(`CRD ${crd.metadata!.name} not Established`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
