// A capture of ARP on a lab's LAN bridge while a client asks for an address 200 times a second: the evidence that a
// failover never had two nodes answering for the same address at the same time. Every frame that claims the address
// (a reply, or a gratuitous request or reply) is kept, in the order the bridge forwarded it, with the number of the
// client's request it follows; two MACs claiming after the same request are two nodes answering at once.
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
  const result: Claim[] = [];
  let requests = 0;
  for (const line of frames) {
    if (request.test(line)) requests++;
    else if (claims.test(line)) result.push({ mac: line.split(' ')[1]!.toLowerCase(), afterRequest: requests });
  }
  return result;
}

/** The successive holders a capture shows: each run of claims by one MAC, collapsed to that MAC. */
export function holders(claims: Claim[]): string[] {
  return claims.map((c) => c.mac).filter((mac, i, macs) => i === 0 || macs[i - 1] !== mac);
}

/**
 * Asserts that a capture shows a handover without overlap. No two MACs may claim the address between two successive
 * requests of the client (5 ms apart at 200 a second): that is two nodes answering at once. A handover always
 * leaves a gap of many requests (a failure is detected in 250 ms or more; a planned move waits until the old owner
 * has let go). And the holders must go from `from` to `to` (with `back`, through `to` and back to `from`); a node
 * that held the address for a moment in between (it thought the successor dead under load, then let go) is allowed.
 */
export function assertHandover(claims: Claim[], from: string, to: string, back = false): void {
  const byWindow = new Map<number, Set<string>>();
  for (const { mac, afterRequest } of claims)
    byWindow.set(afterRequest, (byWindow.get(afterRequest) ?? new Set()).add(mac));
  const overlaps = [...byWindow]
    .filter(([, macs]) => macs.size > 1)
    .map(([n, macs]) => `after request ${n}: ${[...macs].join(' + ')}`);
  const runs = holders(claims);
  const counts: string[] = [];
  claims.forEach((c, i) => {
    if (i === 0 || claims[i - 1]!.mac !== c.mac) counts.push(`${c.mac} x1`);
    else counts[counts.length - 1] = `${c.mac} x${Number(counts.at(-1)!.split(' x')[1]) + 1}`;
  });
  const trace = counts.join(' -> ');
  if (overlaps.length > 0) throw new Error(`two nodes answered at once (${overlaps.join('; ')}); holders ${trace}`);
  const ok = runs[0] === from && runs.at(-1) === (back ? from : to) && runs.slice(1).includes(to);
  if (!ok)
    throw new Error(`holders ${runs.join(' -> ')}, want ${back ? `${from} -> ${to} -> ${from}` : `${from} -> ${to}`}`);
}
