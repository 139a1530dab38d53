// The metal demo's LAN, built as root from network namespaces named after the demo's pid: a bridge (`lan`), a `client`
// and one namespace per demo Node, each node running its workload (node-main.ts: a web server behind a kube-proxy-like
// DNAT rule, and a healthz) and `drawbridge speaker`. A veth from the root namespace onto the bridge lets the
// controller probe the nodes' healthz and, through a relay on its address, the speakers reach the control plane on the
// root namespace's loopback. Packets stay on that LAN: its subnet is one no route of this machine overlaps.
// The same pieces as the e2e lab (test/e2e/support/lab.ts), kept here because the demo ships in the npm package.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, openSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import ipaddr from 'ipaddr.js';
import { ADDON_PATH } from '../../src/speaker/packet-socket.ts';

const run = promisify(execFile);
const ext = extname(fileURLToPath(import.meta.url));
const NODE_MAIN = fileURLToPath(new URL(`./node-main${ext}`, import.meta.url));
/** The CLI the speakers run: the sources in a checkout, the compiled main.js in the package. */
export const CLI_MAIN = fileURLToPath(new URL(`../../src/commands/main${ext}`, import.meta.url));
const PREFIX = 'drawbridge-demo-';
const RELAY_PORT = 16443;

export const sh = async (...args: string[]): Promise<string> =>
  (await run(args[0]!, args.slice(1), { timeout: 15_000 })).stdout;
/** Like sh, but what it printed even when it exits non-zero (arping does when nobody answers). */
export const probe = (...args: string[]): Promise<string> =>
  sh(...args).catch((error: { stdout?: string }) => error.stdout ?? '');

export interface LabNode {
  name: string;
  ip: string;
  mac: string;
  ns: string;
  /** Its LAN interface, inside its namespace. */
  ifname: string;
}

/** Why this machine cannot run the lab, in one line; undefined when it can. */
export async function whyNoLab(isRoot = process.getuid?.() === 0): Promise<string | undefined> {
  if (process.platform !== 'linux') return 'the traffic part needs Linux network namespaces';
  if (!isRoot) return 'not root: the traffic part creates network namespaces, which needs root';
  const missing = [];
  for (const tool of ['ip', 'arping', 'curl', 'nft']) {
    if ((await probe('sh', '-c', `command -v ${tool} || true`)).trim() === '') missing.push(tool);
  }
  if (missing.length > 0) {
    return `the traffic part needs ${missing.join(', ')} (Debian: iproute2, iputils-arping, curl, nftables)`;
  }
  if (!existsSync(ADDON_PATH))
    return `the speaker's packet-socket addon is not built (${ADDON_PATH}): scripts/build-native`;
  return undefined;
}

/** The command line of one demo node's speaker: one function, so a flag every speaker needs is one line here. */
export function speakerArgs(node: LabNode, peers: readonly LabNode[], kubeconfig: string, key: string): string[] {
  return [
    ...['speaker', '--node', node.name, '--interface', node.ifname, '--bind-address', node.ip],
    ...['--peers', peers.map((p) => `${p.ip}:7947`).join(','), '--kubeconfig', kubeconfig],
    // Eligible at once and a short takeover burst, as in the e2e lab: three fresh nodes, not a fleet.
    ...['--probation', '0', '--garp-count', '3', '--garp-interval', '200'],
    ...['--metrics-bind-address', '127.0.0.1:9470', '--metrics-secure=false'],
    // The speakers' shared membership key, as the DaemonSet mounts it from its Secret.
    ...['--membership-key-file', key],
  ];
}

/** A /24 under 10.203/16 that no route of this machine overlaps, starting from one derived from the pid. */
async function freeSubnet(): Promise<string> {
  const taken = (await sh('ip', '-4', '-o', 'route', 'show', 'table', 'all'))
    .split('\n')
    .map((line) => line.split(' ').find((word) => /^\d+\.\d+\.\d+\.\d+(\/\d+)?$/.test(word)))
    .filter((dest): dest is string => dest !== undefined)
    .map((dest) => ipaddr.IPv4.parseCIDR(dest.includes('/') ? dest : `${dest}/32`));
  for (let i = 0; i < 250; i++) {
    const prefix = `10.203.${(process.pid + i) % 250}`;
    const net = ipaddr.IPv4.parseCIDR(`${prefix}.0/24`);
    if (!taken.some(([addr, bits]) => addr.match(net) || net[0].match(addr, bits))) return prefix;
  }
  throw new Error('no free /24 under 10.203.0.0/16 for the demo LAN');
}

/** Deletes what an earlier demo left when it was killed: namespaces named after a pid that is gone. */
export async function removeStaleLabs(): Promise<void> {
  for (const line of (await probe('ip', 'netns', 'list')).split('\n')) {
    const [, ns, pid] = line.match(new RegExp(`^(${PREFIX}(\\d+)-\\S+)`)) ?? [];
    if (ns !== undefined && !alive(Number(pid))) await deleteNamespace(ns);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Kills what still runs in a namespace, then deletes it (with its veths: their peers go too). */
async function deleteNamespace(ns: string): Promise<void> {
  for (const pid of (await probe('ip', 'netns', 'pids', ns)).split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
  await probe('ip', 'netns', 'delete', ns);
}

export class DemoLab {
  /** Every namespace's name starts with it. */
  readonly prefix = `${PREFIX}${process.pid}`;
  readonly nodes: LabNode[] = [];
  readonly clientNs = `${this.prefix}-client`;
  readonly clientIf = 'eth0';
  /** The pool's addresses: the top of the LAN, which no namespace holds. */
  pool = '';
  logDir = '';
  private readonly namespaces: string[] = [];
  private readonly children: ChildProcess[] = [];
  private relay: Server | undefined;
  private readonly relayed = new Set<Socket>();
  private hostIp = '';

  /** Builds the LAN and starts each node's workload; on failure, removes what it built. */
  static async create(nodeNames: readonly string[]): Promise<DemoLab> {
    const lab = new DemoLab();
    try {
      await lab.build(nodeNames);
      return lab;
    } catch (error) {
      await lab.destroy();
      throw error;
    }
  }

  private async build(nodeNames: readonly string[]): Promise<void> {
    await removeStaleLabs();
    this.logDir = await mkdtemp(join(tmpdir(), 'drawbridge-demo-'));
    const subnet = await freeSubnet();
    this.hostIp = `${subnet}.254`;
    this.pool = `${subnet}.200-${subnet}.209`;
    const lan = await this.addNamespace('lan');
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    // The root namespace's leg: the only address outside the namespaces, on a subnet no other route uses.
    const hostIf = `dbdemo${process.pid}`; // at most 13 characters (pids stay under 2^22)
    await sh('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'lh', 'netns', lan);
    await sh('ip', 'addr', 'add', `${this.hostIp}/24`, 'dev', hostIf);
    await sh('ip', 'link', 'set', hostIf, 'up');
    await sh('ip', '-n', lan, 'link', 'set', 'lh', 'up', 'master', 'br0');
    await this.attach(await this.addNamespace('client'), 'c', `${subnet}.1`, '02:db:de:00:00:01');
    for (const [i, name] of nodeNames.entries()) {
      const ns = await this.addNamespace(name);
      const node = { name, ip: `${subnet}.${11 + i}`, mac: `02:db:de:00:00:${(0x11 + i).toString(16)}`, ns };
      this.nodes.push({ ...node, ifname: await this.attach(ns, `n${i + 1}`, node.ip, node.mac) });
    }
    await Promise.all(this.nodes.map((node) => this.startWorkload(node)));
  }

  private async addNamespace(name: string): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    await sh('ip', 'netns', 'add', ns);
    this.namespaces.push(ns);
    await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** A veth from `ns` (renamed eth0 there) onto the bridge, with `ip`/24 and `mac`. */
  private async attach(ns: string, tag: string, ip: string, mac: string): Promise<string> {
    const lan = `${this.prefix}-lan`;
    // Each end is created in its own namespace, so these names need to be unique only there.
    const outer = `l${tag}`;
    await sh('ip', 'link', 'add', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', outer, 'netns', lan);
    await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'address', mac);
    await sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0');
    await sh('ip', '-n', ns, 'link', 'set', 'eth0', 'up');
    await sh('ip', '-n', lan, 'link', 'set', outer, 'up', 'master', 'br0');
    return 'eth0';
  }

  /** kube-proxy's part (the pool's port 80 to this node's backend) and the node's web server + healthz. */
  private async startWorkload(node: LabNode): Promise<void> {
    const rules = [
      'table ip drawbridge_demo {',
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      `    ip daddr ${this.pool} tcp dport 80 dnat to ${node.ip}:8080`,
      '  }',
      '}',
    ].join('\n');
    const nft = spawn('ip', ['netns', 'exec', node.ns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'inherit'] });
    nft.stdin.end(rules);
    const [code] = await once(nft, 'exit');
    if (code !== 0) throw new Error(`nft in ${node.ns} exited with ${code}`);
    const child = spawn('ip', ['netns', 'exec', node.ns, process.execPath, NODE_MAIN, node.name, node.ip], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.children.push(child);
    const [ready] = await once(createInterface({ input: child.stdout! }), 'line');
    if (ready !== 'ready') throw new Error(`${node.name}'s workload did not start: ${ready}`);
  }

  /** Starts a speaker per node against the control plane at `kubeconfigPath`; resolves once each has started. */
  async startSpeakers(kubeconfigPath: string): Promise<void> {
    const target = new URL(loadKubeConfig(kubeconfigPath).getCurrentCluster()!.server);
    this.relay = createServer((client) => {
      const upstream = connect(Number(target.port), target.hostname);
      for (const socket of [client, upstream]) {
        this.relayed.add(socket);
        socket.on('close', () => this.relayed.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      client.pipe(upstream).pipe(client);
    });
    this.relay.listen(RELAY_PORT, this.hostIp);
    await once(this.relay, 'listening');
    const kubeconfig = join(this.logDir, 'kubeconfig');
    await writeFile(kubeconfig, relayedKubeConfig(kubeconfigPath, `https://${this.hostIp}:${RELAY_PORT}`), {
      mode: 0o600,
    });
    const key = join(this.logDir, 'membership-key');
    await writeFile(key, randomBytes(32).toString('hex'), { mode: 0o400 });
    await Promise.all(
      this.nodes.map(async (node) => {
        const log = openSync(join(this.logDir, `${node.name}.log`), 'a');
        const args = [
          'netns',
          'exec',
          node.ns,
          process.execPath,
          CLI_MAIN,
          ...speakerArgs(node, this.nodes, kubeconfig, key),
        ];
        const child = spawn('ip', args, { stdio: ['ignore', 'pipe', log] });
        this.children.push(child);
        const lines = createInterface({ input: child.stdout! });
        lines.on('line', () => {}); // keep reading: a full pipe would stall the speaker
        const exited = once(child, 'exit').then(([code]) => {
          throw new Error(`${node.name}'s speaker exited (${code}); see ${join(this.logDir, `${node.name}.log`)}`);
        });
        const started = new Promise<void>((resolve) =>
          lines.on('line', (line) => line.includes('"speaker started"') && resolve()),
        );
        await Promise.race([started, exited]);
        exited.catch(() => {});
      }),
    );
  }

  /** A speaker's metric (its /metrics inside the node's namespace), NaN when unanswered. */
  async metric(node: LabNode, name: string): Promise<number> {
    const text = await probe('ip', 'netns', 'exec', node.ns, 'curl', '-s', 'http://127.0.0.1:9470/metrics');
    const line = text.split('\n').find((l) => l.startsWith(name));
    return line === undefined ? Number.NaN : Number(line.split(' ').at(-1));
  }

  /** Stops every process it started and deletes its namespaces (and with them every veth and nft rule), and its logs unless `keepLogs`. */
  async destroy({ keepLogs = false } = {}): Promise<void> {
    for (const socket of this.relayed) socket.destroy();
    this.relay?.close();
    for (const child of this.children) child.kill('SIGKILL');
    for (const ns of this.namespaces.splice(0).reverse()) await deleteNamespace(ns);
    if (this.logDir !== '' && !keepLogs) await rm(this.logDir, { recursive: true, force: true });
  }
}

function loadKubeConfig(path: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(path);
  return kc;
}

/** The control plane's kubeconfig pointing at the relay; its certificate names localhost, not the relay's address. */
function relayedKubeConfig(path: string, server: string): string {
  const config = JSON.parse(loadKubeConfig(path).exportConfig()) as {
    clusters: Array<{ cluster: Record<string, unknown> }>;
  };
  for (const { cluster } of config.clusters) {
    cluster.server = server;
    cluster['tls-server-name'] = 'localhost';
  }
  return JSON.stringify(config);
}
