// The router side of the BGP lab: a `router` namespace on the nodes' LAN running BIRD 2 (a different daemon from the
// nodes' FRR), peering with every node over IPv4 and, when the node has one, IPv6, with BFD on every session and
// ECMP into its own kernel (`merge paths`: one multipath route per prefix announced by several nodes); and a
// `bgpclient` namespace behind it on a link of its own (another subnet, reached only through the router). It reads
// what the router knows (routes, sessions, session resets) and runs the client's request loop. Every name carries
// the lab's prefix (the test process's pid); nothing binds a BGP or BFD port outside these namespaces.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { countResets, nextHops, parseProtocols, protocolName } from './bgp-bird.ts';
import type { RequestStats } from './bgp-requests-main.ts';
import { type Lab, probe, sh, sleep } from './lab.ts';

const REQUESTS_MAIN = fileURLToPath(new URL('./bgp-requests-main.ts', import.meta.url));

export interface RouterNode {
  name: string;
  ip: string;
  ip6?: string;
}

export interface BgpRouterOptions {
  lab: Lab;
  /** Puts a new interface of `ns` on the nodes' LAN (Lab.lanWithHost's attach, or the test's own bridge). */
  attach: (ns: string, ifname: string, peer: string) => Promise<void>;
  /** The router's LAN addresses with their prefix lengths: `10.x.y.1/24`, `fd00:x:y::1/64`. */
  lanIp: string;
  lanIp6?: string;
  /** The client link's /24 and /64 without the host part (`10.x.z`, `fd00:x:z`): router .1 / ::1, client .2 / ::2. */
  clientSub: string;
  clientSub6?: string;
  nodes: RouterNode[];
  /** Default 64512; the nodes' default 64513. Equal: iBGP. */
  routerAsn?: number;
  nodeAsn?: number;
  /** BFD timers of every session; default 100 ms, multiplier 3 (a dead peer is seen within 300 ms). */
  bfd?: { intervalMs: number; multiplier: number };
  /** Where BIRD's configuration, control socket and log go. */
  dir: string;
}

export interface Session {
  /** BIRD's protocol name: `<node>_v4` or `<node>_v6` (non-word characters as `_`). */
  protocol: string;
  node: string;
  address: string;
  /** BIRD's BGP state: Idle, Connect, Active, OpenSent, OpenConfirm or Established. */
  state: string;
}

export class BgpRouter {
  readonly routerNs: string;
  readonly clientNs: string;
  readonly clientIp: string;
  readonly clientIp6: string | undefined;
  readonly routerIp: string;
  readonly routerIp6: string | undefined;
  private readonly o: BgpRouterOptions;
  private bird: ChildProcess | undefined;
  private readonly loops = new Set<ChildProcess>();

  private constructor(o: BgpRouterOptions, routerNs: string, clientNs: string) {
    this.o = o;
    this.routerNs = routerNs;
    this.clientNs = clientNs;
    this.clientIp = `${o.clientSub}.2`;
    this.clientIp6 = o.clientSub6 === undefined ? undefined : `${o.clientSub6}::2`;
    this.routerIp = o.lanIp.split('/')[0]!;
    this.routerIp6 = o.lanIp6?.split('/')[0];
  }

  get socket(): string {
    return join(this.o.dir, 'bird.ctl');
  }

  get logPath(): string {
    return join(this.o.dir, 'bird.log');
  }

  /** The BGP protocols, one per node and family. */
  get protocols(): Session[] {
    return this.o.nodes.flatMap((n) => [
      { protocol: protocolName(n.name, 'v4'), node: n.name, address: n.ip, state: '' },
      ...(n.ip6 === undefined || this.o.lanIp6 === undefined
        ? []
        : [{ protocol: protocolName(n.name, 'v6'), node: n.name, address: n.ip6, state: '' }]),
    ]);
  }

  /** The namespaces and links, then BIRD; returns once BIRD answers on its control socket. */
  static async start(o: BgpRouterOptions): Promise<BgpRouter> {
    const routerNs = await o.lab.addNamespace('router');
    const clientNs = await o.lab.addNamespace('bgpclient');
    const r = new BgpRouter(o, routerNs, clientNs);
    const lanIf = o.lab.ifname('r');
    await o.attach(routerNs, lanIf, o.lab.ifname('lr'));
    await sh('ip', '-n', routerNs, 'addr', 'add', o.lanIp, 'dev', lanIf);
    if (o.lanIp6 !== undefined) await sh('ip', '-n', routerNs, 'addr', 'add', o.lanIp6, 'dev', lanIf, 'nodad');
    const routerClientIf = o.lab.ifname('rc');
    const clientIf = o.lab.ifname('cr');
    await o.lab.link(routerNs, routerClientIf, clientNs, clientIf);
    await sh('ip', '-n', routerNs, 'addr', 'add', `${o.clientSub}.1/24`, 'dev', routerClientIf);
    await sh('ip', '-n', clientNs, 'addr', 'add', `${r.clientIp}/24`, 'dev', clientIf);
    await sh('ip', '-n', clientNs, 'route', 'add', 'default', 'via', `${o.clientSub}.1`);
    await sh('ip', 'netns', 'exec', routerNs, 'sysctl', '-qw', 'net.ipv4.ip_forward=1');
    if (o.clientSub6 !== undefined) {
      await sh('ip', '-n', routerNs, 'addr', 'add', `${o.clientSub6}::1/64`, 'dev', routerClientIf, 'nodad');
      await sh('ip', '-n', clientNs, 'addr', 'add', `${r.clientIp6}/64`, 'dev', clientIf, 'nodad');
      await sh('ip', '-n', clientNs, '-6', 'route', 'add', 'default', 'via', `${o.clientSub6}::1`);
      await sh('ip', 'netns', 'exec', routerNs, 'sysctl', '-qw', 'net.ipv6.conf.all.forwarding=1');
      // The router hashes IPv6 flows over the ECMP next hops by addresses and flow label; with no flow label every
      // connection of the one client takes the same next hop, as IPv4's address hash does, so "the node serving the
      // client" is one node and failing it is seen by every request.
      await sh('ip', 'netns', 'exec', clientNs, 'sysctl', '-qw', 'net.ipv6.auto_flowlabels=0');
    }
    await r.startBird();
    return r;
  }

  /** BIRD's configuration: see the class comment; timers short so a lab session comes back within seconds. */
  private config(): string {
    const o = this.o;
    const routerAsn = o.routerAsn ?? 64512;
    const nodeAsn = o.nodeAsn ?? 64513;
    const bfd = o.bfd ?? { intervalMs: 100, multiplier: 3 };
    const sessions = this.protocols.map((s) => {
      const six = s.protocol.endsWith('_v6');
      return `protocol bgp ${s.protocol} from nodes { neighbor ${s.address} as ${nodeAsn}; ${six ? 'ipv6' : 'ipv4'} { import all; export none; }; }`;
    });
    return [
      `router id ${this.routerIp};`,
      `log "${this.logPath}" all;`,
      'timeformat log "%F %T.%3f";',
      // Every protocol state change is logged (sessionResets() counts them: countResets), with the events that
      // explain a reset ("BFD session down", a NOTIFICATION received, "Connection lost").
      'debug protocols { states, events };',
      'protocol device { scan time 10; }',
      // ECMP: the routes of the same prefix from several nodes are merged into one multipath kernel route.
      'protocol kernel k4 { merge paths on; ipv4 { import none; export all; }; }',
      'protocol kernel k6 { merge paths on; ipv6 { import none; export all; }; }',
      `protocol bfd { interface "*" { interval ${bfd.intervalMs} ms; multiplier ${bfd.multiplier}; }; }`,
      // `direct`: the nodes are on the router's LAN, also over iBGP (whose default is multihop with recursive next
      // hops, which would need an IGP table). Short connect and error-wait times: a session dropped on purpose
      // (link down, a frozen node) comes back within seconds of the repair instead of BIRD's default 60 s.
      'template bgp nodes {',
      `  local as ${routerAsn}; direct; bfd on; hold time 90;`,
      '  connect delay time 1; connect retry time 1; error wait time 1, 4; error forget time 10;',
      '}',
      ...sessions,
      '',
    ].join('\n');
  }

  private async startBird(): Promise<void> {
    const conf = join(this.o.dir, 'bird.conf');
    await writeFile(conf, this.config());
    // -f: stays in the foreground as this process's child, so stop() ends exactly this BIRD.
    this.bird = spawn(
      'ip',
      ['netns', 'exec', this.routerNs, 'bird', '-f', '-c', conf, '-s', this.socket, '-P', join(this.o.dir, 'bird.pid')],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let err = '';
    this.bird.stderr!.on('data', (chunk) => {
      err += chunk;
    });
    const deadline = Date.now() + 10_000;
    while (!existsSync(this.socket) || !(await probe(...this.birdcArgs('show status'))).includes('Daemon is up')) {
      if (this.bird.exitCode !== null || Date.now() > deadline) throw new Error(`BIRD did not start: ${err}`);
      await sleep(50);
    }
  }

  private birdcArgs(command: string): string[] {
    return ['ip', 'netns', 'exec', this.routerNs, 'birdc', '-s', this.socket, ...command.split(' ')];
  }

  birdc(command: string): Promise<string> {
    return sh(...this.birdcArgs(command));
  }

  /** In a node namespace: routes to the client's subnets through the router (a node's default gateway would). */
  async addReturnRoutes(ns: string): Promise<void> {
    await sh('ip', '-n', ns, 'route', 'replace', `${this.o.clientSub}.0/24`, 'via', this.routerIp);
    if (this.o.clientSub6 !== undefined && this.routerIp6 !== undefined) {
      await sh('ip', '-n', ns, '-6', 'route', 'replace', `${this.o.clientSub6}::/64`, 'via', this.routerIp6);
    }
  }

  /**
   * Sets a node's LAN interface up again after a link-down failure and puts back its return routes, which the kernel
   * removed with the link (a node's network configuration would restore its gateway the same way).
   */
  async nodeLinkUp(ns: string, ifname: string): Promise<void> {
    await sh('ip', '-n', ns, 'link', 'set', ifname, 'up');
    await this.addReturnRoutes(ns);
  }

  /**
   * The next hops of `prefix` (an address is taken as its /32 or /128) in BIRD's table (`show route <prefix>`: one
   * route per announcing node) and in the router's kernel (`ip route show`: the merged multipath route).
   */
  async routes(prefix: string): Promise<{ bird: string[]; kernel: string[] }> {
    const six = prefix.includes(':');
    const full = prefix.includes('/') ? prefix : `${prefix}/${six ? 128 : 32}`;
    // birdc exits non-zero when the prefix is not in its table: no next hops.
    const bird = nextHops(await probe(...this.birdcArgs(`show route ${full}`)));
    const kernel = nextHops(await sh('ip', '-n', this.routerNs, six ? '-6' : '-4', 'route', 'show', full));
    return { bird, kernel };
  }

  /** Every node session's BGP state, as BIRD sees it. */
  async sessions(): Promise<Session[]> {
    const rows = parseProtocols(await this.birdc('show protocols'));
    return this.protocols.map((s) => ({ ...s, state: rows.get(s.protocol) ?? 'missing' }));
  }

  /** Session resets per protocol since BIRD started (countResets over its log). */
  async sessionResets(): Promise<Map<string, number>> {
    const log = await readFile(this.logPath, 'utf8').catch(() => '');
    return countResets(
      log,
      this.protocols.map((s) => s.protocol),
    );
  }

  /** The sum of sessionResets(). */
  async totalResets(): Promise<number> {
    return [...(await this.sessionResets()).values()].reduce((a, b) => a + b, 0);
  }

  /** Waits until every session is Established; throws with the states after `ms`. */
  async established(ms = 30_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const sessions = await this.sessions();
      if (sessions.every((s) => s.state === 'Established')) return;
      if (Date.now() > deadline) throw new Error(`sessions not Established: ${JSON.stringify(sessions)}`);
      await sleep(100);
    }
  }

  /** BIRD's BFD sessions: neighbor address -> state (Up, Down, Init, AdminDown). */
  async bfdSessions(): Promise<Map<string, string>> {
    const rows = new Map<string, string>();
    for (const line of (await this.birdc('show bfd sessions')).split('\n')) {
      const match = /^([0-9a-fA-F.:]+)\s+\S+\s+(\w+)/.exec(line);
      if (match) rows.set(match[1]!, match[2]!);
    }
    return rows;
  }

  /** Waits until the router's BFD session with every node address is Up; throws with the states after `ms`. */
  async bfdUp(ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    for (;;) {
      const rows = await this.bfdSessions();
      if (this.protocols.every((s) => rows.get(s.address) === 'Up')) return;
      if (Date.now() > deadline) throw new Error(`BFD sessions not Up: ${JSON.stringify([...rows])}`);
      await sleep(50);
    }
  }

  /**
   * Starts the client's request loop against `address`:80 (bgp-requests-main.ts: a new connection every
   * `intervalMs`, each given `timeoutMs`); `stop()` ends it and returns its counts.
   */
  async requestLoop(address: string, intervalMs = 20, timeoutMs = 200): Promise<{ stop: () => Promise<RequestStats> }> {
    const child = spawn(
      'ip',
      ['netns', 'exec', this.clientNs, process.execPath, REQUESTS_MAIN, address, String(intervalMs), String(timeoutMs)],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    this.loops.add(child);
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const first = await lines.next();
    if (first.value !== 'started') throw new Error(`request loop did not start: ${JSON.stringify(first.value)}`);
    return {
      stop: async () => {
        child.stdin!.write('stop\n');
        const line = await lines.next();
        this.loops.delete(child);
        if (line.done) throw new Error('request loop exited without its counts');
        return JSON.parse(line.value) as RequestStats;
      },
    };
  }

  /** Stops BIRD and any request loop still running (the namespaces go with the lab). */
  async stop(): Promise<void> {
    for (const loop of this.loops) loop.kill('SIGKILL');
    this.loops.clear();
    const bird = this.bird;
    if (bird === undefined || bird.exitCode !== null || bird.signalCode !== null) return;
    const exited = new Promise((resolve) => bird.once('exit', resolve));
    bird.kill('SIGTERM');
    const timer = setTimeout(() => bird.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }
}
