// Helpers for e2e tests that build a small LAN out of network namespaces they create and delete themselves. Nothing
// here sends a packet outside those namespaces. All names carry the test process id, so parallel runs do not collide.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const RESPONDER_MAIN = fileURLToPath(new URL('./responder-main.ts', import.meta.url));

export const isRoot = process.getuid?.() === 0;

/** Runs a command and returns its stdout; throws if it fails. */
export async function sh(...args: string[]): Promise<string> {
  const { stdout } = await run(args[0]!, args.slice(1), { timeout: 15_000 });
  return stdout;
}

/** Runs a command that may exit non-zero (arping does when nobody answers) and returns what it printed. */
export async function probe(...args: string[]): Promise<string> {
  try {
    return await sh(...args);
  } catch (error) {
    return (error as { stdout?: string }).stdout ?? '';
  }
}

export async function hasCommand(name: string): Promise<boolean> {
  return (await probe('sh', '-c', `command -v ${name} || true`)).trim() !== '';
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `read` until `done` holds for its result or `ms` pass; returns the last result either way. */
export async function waitFor(
  read: () => Promise<string>,
  done: (value: string) => boolean,
  ms = 1000,
): Promise<string> {
  const deadline = Date.now() + ms;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await sleep(25);
    value = await read();
  }
  return value;
}

/** A set of namespaces named `db<tag><pid>-<name>`, deleted together. */
export class Lab {
  readonly prefix: string;
  private readonly namespaces: string[] = [];

  constructor(tag: string) {
    this.prefix = `db${tag}${process.pid % 100000}`;
  }

  ns(name: string): string {
    return `${this.prefix}-${name}`;
  }

  /** An interface name (at most 15 characters) unique to this lab. */
  ifname(name: string): string {
    return `${this.prefix}${name}`.slice(0, 15);
  }

  async addNamespace(name: string): Promise<string> {
    const ns = this.ns(name);
    await probe('ip', 'netns', 'delete', ns);
    await sh('ip', 'netns', 'add', ns);
    this.namespaces.push(ns);
    await sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
    return ns;
  }

  /** A veth pair between two of this lab's namespaces, both ends up, the first end with `mac` if given. */
  async link(from: string, fromIf: string, to: string, toIf: string, mac?: string): Promise<void> {
    await sh('ip', 'link', 'add', fromIf, 'netns', from, 'type', 'veth', 'peer', 'name', toIf, 'netns', to);
    if (mac !== undefined) await sh('ip', '-n', from, 'link', 'set', fromIf, 'address', mac);
    await sh('ip', 'netns', 'exec', from, 'sysctl', '-qw', `net.ipv6.conf.${fromIf}.accept_dad=0`);
    await sh('ip', '-n', from, 'link', 'set', fromIf, 'up');
    await sh('ip', '-n', to, 'link', 'set', toIf, 'up');
  }

  /**
   * A LAN: namespace `lan` with bridge br0, and the root namespace on it at `hostIp`/24 (where the apiserver relay
   * listens). Returns the namespace and `attach`, which puts a namespace's new interface on the bridge.
   */
  async lanWithHost(hostIp: string): Promise<{
    lan: string;
    attach: (ns: string, ifname: string, peer: string, mac?: string) => Promise<void>;
  }> {
    const lan = await this.addNamespace('lan');
    await sh('ip', '-n', lan, 'link', 'add', 'br0', 'type', 'bridge', 'mcast_snooping', '0');
    await sh('ip', '-n', lan, 'link', 'set', 'br0', 'up');
    const attach = async (ns: string, ifname: string, peer: string, mac?: string) => {
      await this.link(ns, ifname, lan, peer, mac);
      await sh('ip', '-n', lan, 'link', 'set', peer, 'master', 'br0');
    };
    const hostIf = this.ifname('h');
    await sh('ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', this.ifname('lh'), 'netns', lan);
    await sh('ip', 'addr', 'add', `${hostIp}/24`, 'dev', hostIf);
    await sh('ip', 'link', 'set', hostIf, 'up');
    await sh('ip', '-n', lan, 'link', 'set', this.ifname('lh'), 'up', 'master', 'br0');
    return { lan, attach };
  }

  async deleteAll(): Promise<void> {
    for (const ns of this.namespaces.splice(0)) await probe('ip', 'netns', 'delete', ns);
  }
}

/** A responder-main.ts process in a namespace, driven over stdin. */
export class ResponderProcess {
  readonly mac: string;
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;

  private constructor(child: ChildProcess, lines: AsyncIterator<string>, mac: string) {
    this.child = child;
    this.lines = lines;
    this.mac = mac;
  }

  static async start(ns: string, ifname: string, owned: string[] = []): Promise<ResponderProcess> {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, RESPONDER_MAIN, ifname, owned.join(',')], {
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const ready = await lines.next();
    if (ready.done) throw new Error(`responder in ${ns} exited before it was ready`);
    return new ResponderProcess(child, lines, (JSON.parse(ready.value) as { mac: string }).mac);
  }

  /** Sends one command (`own <ip>`, `drop <ip>`, `announce <ip>`) and waits for its acknowledgement. */
  async command(line: string): Promise<void> {
    this.child.stdin!.write(`${line}\n`);
    const reply = await this.lines.next();
    if (reply.value !== `ok ${line}`) throw new Error(`responder answered ${JSON.stringify(reply.value)} to ${line}`);
  }

  /** Stops it and returns its counters and exit code. */
  async stop(): Promise<{ counters: Record<string, number>; code: number | null }> {
    const exited = new Promise<number | null>((resolve) => {
      if (this.child.exitCode !== null) resolve(this.child.exitCode);
      else this.child.once('exit', resolve);
    });
    this.child.kill('SIGTERM');
    const line = await this.lines.next();
    return { counters: line.done ? {} : JSON.parse(line.value), code: await exited };
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

const NODE_SERVER_MAIN = fileURLToPath(new URL('./node-server-main.ts', import.meta.url));

/**
 * A node's workload in the lab (node-server-main.ts): a web server on `<ip>:8080` (and `[<ip6>]:8080` if given) that
 * answers with the node's name,
 * reached through a kube-proxy-like DNAT rule (nftables) from `<service address>:80`, and a kube-proxy stand-in health
 * endpoint on 127.0.0.1:10256/healthz that the test can make fail.
 */
export class NodeServer {
  private readonly child: ChildProcess;
  private readonly lines: AsyncIterator<string>;

  private constructor(child: ChildProcess, lines: AsyncIterator<string>) {
    this.child = child;
    this.lines = lines;
  }

  static async start(
    ns: string,
    node: string,
    ip: string,
    serviceAddresses: string[],
    ip6?: string,
    serviceAddresses6: string[] = [],
  ): Promise<NodeServer> {
    // kube-proxy's part: the Service address's port 80 goes to this node's backend, whatever node the packet reached;
    // with an IPv6 node address, the same for the IPv6 Service addresses.
    const table = (family: 'ip' | 'ip6', daddrs: string[], to: string) => [
      `table ${family} drawbridge_lab {`,
      '  chain prerouting {',
      '    type nat hook prerouting priority dstnat; policy accept;',
      `    ${family} daddr { ${daddrs.join(', ')} } tcp dport 80 dnat to ${to}`,
      '  }',
      '}',
    ];
    const rules = [
      ...table('ip', serviceAddresses, `${ip}:8080`),
      ...(ip6 !== undefined && serviceAddresses6.length > 0 ? table('ip6', serviceAddresses6, `[${ip6}]:8080`) : []),
    ].join('\n');
    await new Promise<void>((resolve, reject) => {
      const nft = spawn('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
      let err = '';
      nft.stderr!.on('data', (chunk) => {
        err += chunk;
      });
      nft.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`nft in ${ns}: ${err}`))));
      nft.stdin!.end(rules);
    });
    const child = spawn(
      'ip',
      ['netns', 'exec', ns, process.execPath, NODE_SERVER_MAIN, node, ip, ...(ip6 ? [ip6] : [])],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const ready = await lines.next();
    if (ready.value !== 'ready') throw new Error(`node server in ${ns} did not start: ${JSON.stringify(ready.value)}`);
    return new NodeServer(child, lines);
  }

  /** Makes the kube-proxy stand-in's /healthz answer 200 (true) or 503 (false). */
  async setHealthy(healthy: boolean): Promise<void> {
    const command = healthy ? 'healthy' : 'unhealthy';
    this.child.stdin!.write(`${command}\n`);
    const reply = await this.lines.next();
    if (reply.value !== `ok ${command}`) throw new Error(`node server answered ${JSON.stringify(reply.value)}`);
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

/** One HTTP request to `ip:80` from inside `ns` (curl, 1 s budget): the serving node's name, or '' if none answered. */
export async function servedBy(ns: string, ip: string): Promise<string> {
  const host = ip.includes(':') ? `[${ip}]` : ip;
  // -g: the brackets of an IPv6 address are not a curl glob.
  const out = await probe('ip', 'netns', 'exec', ns, 'curl', '-s', '-g', '--max-time', '1', `http://${host}/`);
  return out.trim();
}
