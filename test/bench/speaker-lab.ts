// The speaker lab shared by the failover benchmark and the soak (both as root): the test control plane with the
// address-pool CRD and one pool, a LAN bridge, a host-side veth reaching the control plane through a relay, a client
// namespace, and three node namespaces each with a web server behind a kube-proxy-like DNAT rule, a kube-proxy
// stand-in /healthz and `drawbridge speaker` with its default settings. Every name carries the process id (Lab), so
// labs run by different processes do not collide. `speakerArgs` is the one place a speaker's command line is built.
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createPool, installAddressPoolCrd } from '../../providers/metal/pools/install.ts';
import { ApiserverProxy } from '../e2e/support/apiserver-proxy.ts';
import { Lab, NodeServer, probe, sh, sleep } from '../e2e/support/lab.ts';
import { membershipKeyFile } from '../e2e/support/membership-key.ts';
import { type ControlPlane, startControlPlane } from '../env/controlplane.ts';
import { type Entry, entryEnv } from './entry.ts';

export const BIN = fileURLToPath(new URL('../../bin/drawbridge.js', import.meta.url));
const CLK_TCK = 100;

export interface LabNode {
  name: string;
  ip: string;
  mac: string;
}

/** Three nodes on `<sub>.11-13`, with fixed MACs so a capture names them. */
export function labNodes(sub: string, macByte: string): LabNode[] {
  return ['a', 'b', 'c'].map((x) => ({
    name: `node-${x}`,
    ip: `${sub}.${11 + x.charCodeAt(0) - 97}`,
    mac: `02:db:${macByte}:00:00:0${x}`,
  }));
}

/**
 * A speaker's command line (after `ip netns exec <ns>`): defaults for everything that shapes failover (probation,
 * gratuitous bursts, membership timing, node health), metrics in plain HTTP on the namespace's loopback.
 */
export function speakerArgs(node: LabNode, nodes: LabNode[], ifname: string, kubeconfig: string): string[] {
  const peers = nodes.map((n) => `${n.ip}:7947`).join(',');
  return [
    ...[process.execPath, BIN, 'speaker', '--node', node.name, '--interface', ifname],
    ...['--bind-address', node.ip, '--peers', peers, '--kubeconfig', kubeconfig],
    ...['--metrics-bind-address', '127.0.0.1:9470', '--metrics-secure=false'],
    ...['--membership-key-file', labMembershipKey()],
  ];
}

/** The speakers' shared membership key, made on first use: one per bench or soak run. */
let membershipKey: string | undefined;
function labMembershipKey(): string {
  membershipKey ??= membershipKeyFile();
  return membershipKey;
}

/** A child process driven by stdin lines and read by stdout lines. */
export class LineProcess {
  readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;
  constructor(args: string[]) {
    this.child = spawn('ip', args, { stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.child.stdout! })[Symbol.asyncIterator]();
  }
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  async next(): Promise<string> {
    const line = await this.lines.next();
    if (line.done) throw new Error('process exited');
    return line.value;
  }
}

export class Speaker {
  readonly child: ChildProcess;
  private constructor(child: ChildProcess) {
    this.child = child;
  }
  get pid(): number {
    return this.child.pid!;
  }
  static async start(ns: string, args: string[], entry: Entry, logPath: string, name: string): Promise<Speaker> {
    const child = spawn('ip', ['netns', 'exec', ns, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: entryEnv(entry),
    });
    const log = createWriteStream(logPath, { flags: 'a' });
    child.stderr!.pipe(log);
    const lines = createInterface({ input: child.stdout! });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`speaker ${name} exited (${code}); see ${logPath}`)));
      lines.on('line', (line) => {
        log.write(`${line}\n`);
        if (line.includes('"speaker started"')) resolve();
      });
    });
    child.removeAllListeners('exit');
    return new Speaker(child);
  }
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGKILL');
    await exited;
  }
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
export async function usage(pid: number): Promise<{ cpu: number; rssMb: number }> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpu = (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return { cpu, rssMb: rssKb / 1024 };
}

export interface SpeakerLabOptions {
  /** Lab tag (namespace prefix), one letter. */
  tag: string;
  /** The LAN's /24, without the last octet. */
  sub: string;
  /** The second byte of the nodes' MACs, so two labs' MACs differ too. */
  macByte: string;
  /** The pool's range, and the addresses the nodes' DNAT rules serve. */
  poolRange: string;
  serviceAddresses: string[];
  proxyPort: number;
  logDir: string;
  entry: Entry;
}

export class SpeakerLab {
  readonly lab: Lab;
  readonly nodes: LabNode[];
  readonly speakers = new Map<string, Speaker>();
  readonly servers = new Map<string, NodeServer>();
  readonly namespaces = new Map<string, string>();
  readonly hostIf: string;
  readonly clientIf: string;
  readonly clientIp: string;
  lanNs = '';
  clientNs = '';
  cp: ControlPlane | undefined;
  proxy: ApiserverProxy | undefined;
  kubeconfig = '';
  private cleaning: Promise<void> | undefined;
  private readonly extra: (() => Promise<void> | void)[] = [];

  readonly o: SpeakerLabOptions;

  constructor(o: SpeakerLabOptions) {
    this.o = o;
    this.lab = new Lab(o.tag);
    this.nodes = labNodes(o.sub, o.macByte);
    this.hostIf = this.lab.ifname('h');
    this.clientIf = this.lab.ifname('c');
    this.clientIp = `${o.sub}.1`;
  }

  nodeIf(name: string): string {
    return this.lab.ifname(`n${name.slice(-1)}`);
  }

  /** Runs at cleanup, before the speakers and namespaces go. */
  onCleanup(fn: () => Promise<void> | void): void {
    this.extra.push(fn);
  }

  /** The control plane and the pool, then the LAN, the client, the nodes and their speakers. */
  async start(): Promise<void> {
    const o = this.o;
    this.cp = await startControlPlane();
    await installAddressPoolCrd(this.cp.kubeConfig);
    // The CRD takes a moment to be served after it is created.
    for (let attempt = 0; ; attempt++) {
      try {
        await createPool(this.cp.kubeConfig, 'lab', [o.poolRange]);
        break;
      } catch (error) {
        if (attempt > 100) throw error;
        await sleep(100);
      }
    }
    const lab = this.lab;
    const lan = await lab.addNamespace('lan');
    this.lanNs = lan;
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    const attach = async (ns: string, ifname: string, peer: string, mac?: string) => {
      await lab.link(ns, ifname, lan, peer, mac);
      await sh('ip', '-n', lan, 'link', 'set', peer, 'master', 'br0');
    };
    const hostIp = `${o.sub}.254`;
    await sh('ip', 'link', 'add', this.hostIf, 'type', 'veth', 'peer', 'name', lab.ifname('lh'), 'netns', lan);
    await sh('ip', 'addr', 'add', `${hostIp}/24`, 'dev', this.hostIf);
    await sh('ip', 'link', 'set', this.hostIf, 'up');
    await sh('ip', '-n', lan, 'link', 'set', lab.ifname('lh'), 'up', 'master', 'br0');
    this.proxy = new ApiserverProxy(hostIp, o.proxyPort, new URL(this.cp.kubeConfig.getCurrentCluster()!.server));
    await this.proxy.start();
    this.kubeconfig = join(o.logDir, 'kubeconfig');
    await ApiserverProxy.kubeconfigFor(this.cp.kubeconfigPath, hostIp, o.proxyPort, this.kubeconfig);

    this.clientNs = await lab.addNamespace('client');
    await attach(this.clientNs, this.clientIf, lab.ifname('lc'));
    await sh('ip', '-n', this.clientNs, 'addr', 'add', `${this.clientIp}/24`, 'dev', this.clientIf);
    for (const node of this.nodes) {
      const ns = await lab.addNamespace(node.name);
      this.namespaces.set(node.name, ns);
      await attach(ns, this.nodeIf(node.name), lab.ifname(`ln${node.name.slice(-1)}`), node.mac);
      await sh('ip', '-n', ns, 'addr', 'add', `${node.ip}/24`, 'dev', this.nodeIf(node.name));
      this.servers.set(node.name, await NodeServer.start(ns, node.name, node.ip, o.serviceAddresses));
    }
    await Promise.all(this.nodes.map((node) => this.startSpeaker(node.name)));
  }

  async startSpeaker(name: string): Promise<void> {
    const node = this.nodes.find((n) => n.name === name)!;
    const args = speakerArgs(node, this.nodes, this.nodeIf(name), this.kubeconfig);
    const log = join(this.o.logDir, `${name}.log`);
    this.speakers.set(name, await Speaker.start(this.namespaces.get(name)!, args, this.o.entry, log, name));
  }

  /** A speaker's /metrics as a map from series (name and labels) to value; empty if it does not answer. */
  async metrics(node: string): Promise<Map<string, number>> {
    const text = await probe(
      ...['ip', 'netns', 'exec', this.namespaces.get(node)!, 'curl', '-s', '--max-time', '1'],
      'http://127.0.0.1:9470/metrics',
    );
    const values = new Map<string, number>();
    for (const line of text.split('\n')) {
      if (line.startsWith('#') || line === '') continue;
      const at = line.lastIndexOf(' ');
      values.set(line.slice(0, at), Number(line.slice(at + 1)));
    }
    return values;
  }

  /** Removes everything the lab created; safe to call more than once. */
  cleanup(): Promise<void> {
    this.cleaning ??= (async () => {
      for (const fn of this.extra) await fn();
      for (const speaker of this.speakers.values()) await speaker.kill();
      for (const server of this.servers.values()) server.stop();
      await this.proxy?.stop();
      await this.lab.deleteAll();
      await probe('ip', 'link', 'delete', this.hostIf);
      await this.cp?.stop();
    })();
    return this.cleaning;
  }
}
