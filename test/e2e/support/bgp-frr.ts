// FRR (Debian's frr 8.4: zebra, bfdd, bgpd in /usr/lib/frr, and vtysh) run inside a lab namespace by the script the
// FRR DaemonSet runs, deploy/frr/run (so the lab runs what ships, handover included), every file it uses in one
// directory of the test's own: several instances (one per node namespace, and other tests' instances) never share a
// socket. The script's invocation per daemon:
//   <daemon> --vty_socket <dir> -i <dir>/<daemon>.pid -z <dir>/zserv.api -f <dir>/empty.conf -P 0 --log ...
//     [bfdd: --bfdctl <dir>/bfdd.sock] [bgpd: -n]
// and then the configuration through `ip netns exec <ns> vtysh --vty_socket <dir> -f <file>` (or -c lines).
// Why each part:
// - The daemons drop privileges to the user frr and vtysh refuses a daemon not in the group frrvty, so they run as
//   frr (no -u/-g: `-u root` fails with "user(root) is not part of vty group"); the script gives <dir> to frrvty.
// - -z: zebra's API socket, which bfdd and bgpd connect to; the default (/var/run/frr/zserv.api) is shared by every
//   namespace on the machine. bfdd's control socket (--bfdctl, default /var/run/frr/bfdd.sock) is shared the same way.
// - -f <empty file>: without -f a daemon reads /etc/frr. The configuration is given through vtysh instead, which
//   sends each line to the daemon that knows it: one daemon reading an integrated file stops at the first top-level
//   `exit` it cannot place and ignores the rest.
// - -P 0: no vty TCP listener (the default binds port 260x); vtysh uses the unix sockets in <dir>.
// - Not daemonised (-d): each daemon is the script's child, and the script is this process's (`ip netns exec` execs
//   it), so SIGTERM to it stops them all.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sh, sleep } from './lab.ts';

const RUN = fileURLToPath(new URL('../../../deploy/frr/run', import.meta.url));

export interface Frr {
  ns: string;
  dir: string;
  /** deploy/frr/run. */
  process: ChildProcess;
  /** Resolves with the script's exit code once it exited (1: a daemon exited, or the handover time passed). */
  exited: Promise<number | null>;
}

/**
 * Starts deploy/frr/run in `ns` (zebra, bfdd and bgpd), all their sockets, pid files and logs in `dir`, which must
 * exist and whose parents the user frr must be able to traverse (mkdtemp makes 0700 directories: chmod the parent
 * 0711). `handoverSeconds`: the script's SPEAKER_HANDOVER_SECONDS (default 90).
 */
export async function startFrr(ns: string, dir: string, handoverSeconds = 90): Promise<Frr> {
  await chmod(dir, 0o777);
  const env = { ...process.env, FRR_SOCKET_DIR: dir, FRR_LOG_DIR: dir, SPEAKER_HANDOVER_SECONDS: `${handoverSeconds}` };
  const child = spawn('ip', ['netns', 'exec', ns, 'sh', RUN], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let output = '';
  for (const stream of [child.stdout!, child.stderr!]) stream.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const frr: Frr = { ns, dir, process: child, exited };
  // Ready once the script said so (every daemon's vty socket exists); bfdd and bgpd need zebra's API socket first.
  const deadline = Date.now() + 10_000;
  while (!output.includes('zebra, bfdd and bgpd up')) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stopFrr(frr);
      throw new Error(`FRR in ${ns} did not start: ${output.trim()}; see the logs in ${dir}`);
    }
    await sleep(20);
  }
  return frr;
}

/** Runs vtysh commands (each one `-c`) against this instance and returns what they printed. */
export function vtysh(frr: Frr, ...commands: string[]): Promise<string> {
  return sh('ip', 'netns', 'exec', frr.ns, 'vtysh', '--vty_socket', frr.dir, ...commands.flatMap((c) => ['-c', c]));
}

/** Applies a configuration (the lines of an frr.conf) through vtysh; throws if vtysh rejects a line. */
export async function configureFrr(frr: Frr, lines: string[]): Promise<void> {
  const file = join(frr.dir, `config-${Date.now()}.conf`);
  await writeFile(file, `${lines.join('\n')}\n`);
  const out = await sh('ip', 'netns', 'exec', frr.ns, 'vtysh', '--vty_socket', frr.dir, '-f', file);
  // vtysh -f exits 0 even when a line is unknown; it prints the line and an error instead.
  if (/% Unknown command|% Invalid|% Command incomplete|line \d+:/.test(out)) {
    throw new Error(`vtysh rejected the configuration in ${file}: ${out}`);
  }
}

/** Stops the script (SIGTERM: it stops its daemons; SIGKILL to all after 3 s) and waits for it to exit. */
export async function stopFrr(frr: Frr): Promise<void> {
  const child = frr.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    child.kill('SIGKILL');
    // The daemons outlive a killed script: their pid files name them.
    for (const daemon of ['zebra', 'bfdd', 'bgpd']) {
      const pidFile = join(frr.dir, `${daemon}.pid`);
      if (existsSync(pidFile)) void sh('sh', '-c', `kill -9 $(cat ${pidFile}) 2>/dev/null || true`);
    }
  }, 3000);
  await frr.exited;
  clearTimeout(timer);
}

export interface StaticNode {
  asn: number;
  routerId: string;
  /** The router's addresses (IPv4 and/or IPv6), its ASN, and this node's address of the same family. */
  peers: { address: string; asn: number; source: string }[];
  /** Prefixes announced with `network` (each must be in the node's routing table: an address on lo does that). */
  networks: string[];
  bfd: { intervalMs: number; multiplier: number };
}

/**
 * A node's configuration without the speaker: one session per router address and the prefixes announced
 * statically, BFD not yet on (staticNodeBfd turns it on). eBGP needs `no bgp ebgp-requires-policy` (FRR 8 otherwise
 * sends nothing to an eBGP peer without an outbound policy); the address families are activated per peer.
 */
export function staticNodeConfig(node: StaticNode): string[] {
  const v6 = (a: string) => a.includes(':');
  const family = (six: boolean) => [
    ` address-family ${six ? 'ipv6' : 'ipv4'} unicast`,
    ...node.networks.filter((n) => v6(n) === six).map((n) => `  network ${n}`),
    ...node.peers.filter((p) => v6(p.address) === six).map((p) => `  neighbor ${p.address} activate`),
    ' exit-address-family',
  ];
  return [
    `router bgp ${node.asn}`,
    ` bgp router-id ${node.routerId}`,
    ' no bgp ebgp-requires-policy',
    ' no bgp default ipv4-unicast',
    ...node.peers.flatMap((p) => [
      ` neighbor ${p.address} remote-as ${p.asn}`,
      ` neighbor ${p.address} update-source ${p.source}`,
    ]),
    ...family(false),
    ...family(true),
    'exit',
  ];
}

/**
 * BFD on every session of staticNodeConfig, to be applied once the sessions are Established. Applied before,
 * bgpd creates each BFD session without an interface, learns the interface when the BGP session is Established,
 * re-creates the BFD session with it, and the router sees its BFD session go Down: every session's first
 * Established ends at once (BIRD: "BFD session down", or a Cease "BFD down" from FRR, which BIRD logs as
 * `Received: Unknown error 6.10`). That is FRR's behaviour (FRRouting/frr#17337: "BGP peering with BFD is
 * established twice"), not the lab's; the speaker's engine meets it too. `update-source` keeps the source address
 * from changing the same way.
 */
export function staticNodeBfd(node: StaticNode): string[] {
  return [
    'bfd',
    ' profile lab',
    `  receive-interval ${node.bfd.intervalMs}`,
    `  transmit-interval ${node.bfd.intervalMs}`,
    `  detect-multiplier ${node.bfd.multiplier}`,
    ' exit',
    'exit',
    `router bgp ${node.asn}`,
    ...node.peers.map((p) => ` neighbor ${p.address} bfd profile lab`),
    'exit',
  ];
}
