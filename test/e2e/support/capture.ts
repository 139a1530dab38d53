// A capture of ARP on a lab's LAN bridge while a client asks for an address many times a second: the evidence that a
// failover never had two nodes answering for the same address at the same time. Every frame that claims the address
// (a reply, or a gratuitous request or reply) is kept, in the order the bridge forwarded it; the claims must form
// runs of one MAC each, one run per holder (see `holders`), never two MACs interleaved.
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

/**
 * Runs `during` while tcpdump captures ARP on the bridge and the client asks for `ip` `rate` times a second; returns
 * the source MAC of every frame that claims `ip`, in order. Starts `during` only once the capture sees `ip` answered.
 */
export async function captureClaims(o: CaptureOptions, during: () => Promise<void>): Promise<string[]> {
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
  try {
    // The sender takes a moment to start: begin only once its requests are being answered.
    const deadline = performance.now() + 20_000;
    while (!frames.some((line) => claims.test(line))) {
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
  return frames.filter((line) => claims.test(line)).map((line) => line.split(' ')[1]!.toLowerCase());
}

/** The successive holders a capture shows: each run of claims by one MAC, collapsed to that MAC. */
export function holders(claims: string[]): string[] {
  return claims.filter((mac, i) => i === 0 || claims[i - 1] !== mac);
}

/**
 * Asserts that a capture shows a handover without overlap: the claims start with `from`, end with `to` (or, with
 * `back`, pass through `to` and end with `from` again), and every MAC's claims form one run, so no two nodes ever
 * claimed the address in turn, which is what two nodes answering at once looks like at 200 requests a second. A node
 * that held the address for a moment in between (it thought the successor dead under load, then let go) is allowed:
 * one run of its own, with nobody else claiming meanwhile.
 */
export function assertHandover(claims: string[], from: string, to: string, back = false): void {
  const runs = holders(claims);
  const middle = back ? runs.slice(1, -1) : runs.slice(1);
  const ok =
    runs[0] === from &&
    (back ? runs.at(-1) === from && runs.length >= 3 : runs.at(-1) === to) &&
    middle.includes(to) &&
    !middle.includes(from) &&
    new Set(middle).size === middle.length;
  if (!ok) {
    const want = back ? `${from}, ${to}, ${from}` : `${from}, ${to}`;
    throw new Error(`claims passed ${runs.join(' -> ')} (want ${want}, each MAC once): ${claims.join(' ')}`);
  }
}
