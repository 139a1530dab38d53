// A capture of ARP on a lab's LAN bridge while a client asks for an address 200 times a second: the evidence that a
// failover never had two nodes answering for the same address at the same time. Every frame that claims the address
// (a reply to the client, or a gratuitous request or reply) is kept, in the order the bridge forwarded it, with its
// time and the number of the client's request it follows (see assertHandover for what counts as two answering).
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sleep } from './lab.ts';

const FLOOD_MAIN = fileURLToPath(new URL('../../bench/arp-flood-main.ts', import.meta.url));

export interface CaptureOptions {
  /** The LAN namespace and its bridge, where every node's frames pass. */
  lanNs: string;
  bridge: string;
  /** The client that asks: its namespace, interface and IPv4 address. */
  clientNs: string;
  clientIf: string;
  clientIp: string;
  /** The address whose claims are captured. */
  ip: string;
  /** ARP requests per second from the client while `during` runs (default 200). */
  rate?: number;
}

/** A frame claiming the address: its source MAC, and how many requests from the client the capture had seen then. */
export interface Claim {
  mac: string;
  /** tcpdump's timestamp, ms since midnight. */
  at: number;
  /** A reply sent to the client (not a gratuitous announcement to everyone). */
  reply: boolean;
  afterRequest: number;
}

/**
 * Runs `during` while tcpdump captures ARP on the bridge and the client asks for `ip` `rate` times a second; returns
 * every frame that claims `ip`, in order. Starts `during` only once the capture sees `ip` answered.
 */
export async function captureClaims(o: CaptureOptions, during: () => Promise<void>): Promise<Claim[]> {
  const tcpdump = spawn('ip', ['netns', 'exec', o.lanNs, 'tcpdump', '-i', o.bridge, '-nn', '-e', '-l', 'arp'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const frames: string[] = [];
  createInterface({ input: tcpdump.stdout! }).on('line', (line) => frames.push(line));
  await new Promise<void>((resolve, reject) => {
    tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited (${code})`)));
    tcpdump.stderr!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('listening on')) resolve();
    });
  });
  tcpdump.removeAllListeners('exit');
  // The flood runs until stopped (an hour at most); `during` decides how long the capture lasts.
  const flood = spawn(
    'ip',
    [
      'netns',
      'exec',
      o.clientNs,
      process.execPath,
      FLOOD_MAIN,
      o.clientIf,
      o.clientIp,
      o.ip,
      String(o.rate ?? 200),
    ].concat('3600'),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const escaped = o.ip.replaceAll('.', '\\.');
  const claims = new RegExp(`(Reply ${escaped} is-at|Request who-has ${escaped} tell ${escaped},)`);
  // The client's requests carry a target MAC (broadcast), which tcpdump prints in parentheses.
  const request = new RegExp(
    `Request who-has ${escaped} (\\([0-9a-f:]+\\) )?tell ${o.clientIp.replaceAll('.', '\\.')},`,
  );
  try {
    // The sender takes a moment to start (seconds on a loaded machine): begin only once its requests are answered.
    const deadline = performance.now() + 20_000;
    const answered = () => {
      const first = frames.findIndex((line) => request.test(line));
      return first >= 0 && frames.slice(first).some((line) => claims.test(line));
    };
    while (!answered()) {
      if (performance.now() > deadline) throw new Error(`the capture never saw ${o.ip} answered`);
      await sleep(50);
    }
    await during();
    // The last answers to reach the bridge.
    await sleep(300);
  } finally {
    const floodStopped = new Promise((resolve) => flood.once('exit', resolve));
    flood.kill('SIGTERM');
    const stopped = new Promise((resolve) => tcpdump.once('exit', resolve));
    tcpdump.kill('SIGTERM');
    await Promise.all([floodStopped, stopped]);
  }
  const result: Claim[] = [];
  let requests = 0;
  for (const line of frames) {
    if (request.test(line)) requests++;
    else if (claims.test(line)) {
      const [time = '', source = '', , destination = ''] = line.split(' ');
      const [h, m, sec] = time.split(':').map(Number);
      result.push({
        mac: source.toLowerCase(),
        at: ((h! * 60 + m!) * 60 + sec!) * 1000,
        reply: line.includes(' is-at ') && !destination.startsWith('ff:ff:ff:ff:ff:ff'),
        afterRequest: requests,
      });
    }
  }
  return result;
}

/** The successive holders a capture shows: each run of claims by one MAC, collapsed to that MAC. */
export function holders(claims: Claim[]): string[] {
  return claims.map((c) => c.mac).filter((mac, i, macs) => i === 0 || macs[i - 1] !== mac);
}

/** Two claims by one node this close around another node's claim are two nodes answering at once (see below). */
const BOUNCE_MS = 150;

/**
 * Asserts that a capture shows a handover without overlap: never two nodes answering at once. That shows in two ways:
 * two nodes reply to the same request of the client, or a node claims the address again within BOUNCE_MS of its own
 * previous claim with another node's claim in between (both answering, interleaved). A legitimate handover claims
 * once: the old node stops, the new one starts, and a node only comes back after hundreds of milliseconds (detection
 * takes 250 ms or more; a planned move waits until the old owner has let go). The holders must go from `from` to
 * `to` (with `back`, through `to` and back to `from`); a node that held the address for a while before or in between
 * (under load: an owner accused then back, a successor thought dead then back) is allowed.
 */
export function assertHandover(claims: Claim[], from: string, to: string, back = false): void {
  const repliers = new Map<number, Set<string>>();
  for (const c of claims.filter((c) => c.reply)) {
    repliers.set(c.afterRequest, (repliers.get(c.afterRequest) ?? new Set()).add(c.mac));
  }
  const problems = [...repliers]
    .filter(([, macs]) => macs.size > 1)
    .map(([n, macs]) => `request ${n} answered by ${[...macs].join(' and ')}`);
  const lastClaim = new Map<string, number>();
  claims.forEach((c, i) => {
    const previous = lastClaim.get(c.mac);
    if (i > 0 && claims[i - 1]!.mac !== c.mac && previous !== undefined && c.at - previous < BOUNCE_MS) {
      problems.push(
        `${c.mac} claimed again ${Math.round(c.at - previous)} ms after its previous claim, ${claims[i - 1]!.mac} in between`,
      );
    }
    lastClaim.set(c.mac, c.at);
  });
  const runs = holders(claims);
  const counts: string[] = [];
  claims.forEach((c, i) => {
    if (i === 0 || claims[i - 1]!.mac !== c.mac) counts.push(`${c.mac} x1`);
    else counts[counts.length - 1] = `${c.mac} x${Number(counts.at(-1)!.split(' x')[1]) + 1}`;
  });
  const trace = counts.join(' -> ');
  if (problems.length > 0)
    throw new Error(`two nodes answered at once: ${problems.slice(0, 5).join('; ')}; claims ${trace}`);
  // Before the failure a loaded machine may already have moved the address for a moment (the owner accused, then
  // back): what must hold is that `from` held it, then `to`, and (with `back`) `from` again at the end.
  const first = runs.indexOf(from);
  const ok = first >= 0 && runs.at(-1) === (back ? from : to) && runs.slice(first + 1).includes(to);
  if (!ok) throw new Error(`holders ${trace}, want ${back ? `${from} -> ${to} -> ${from}` : `${from} -> ${to}`}`);
}
