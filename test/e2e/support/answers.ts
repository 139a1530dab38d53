// Asking for an address the way a new neighbor on the LAN does, with the standard tools: iputils arping (IPv4) and
// ndisc6 (IPv6), from a namespace the test names. These read what actually came back on the wire, not any counter of
// the speaker's.
import { probe } from './lab.ts';

/**
 * The MACs of the ARP replies to `count` requests, one a second (iputils arping takes whole seconds only), in order,
 * lower case. Every request is broadcast (-b): by default arping unicasts the later ones to the first replier's MAC,
 * which a node whose MAC has just changed no longer receives.
 */
export async function arpingMacs(ns: string, ifname: string, ip: string, count = 3): Promise<string[]> {
  const out = await probe(
    ...['ip', 'netns', 'exec', ns, 'arping', '-b', '-c', String(count), '-w', String(count)],
    ...['-I', ifname, ip],
  );
  return [...out.matchAll(/reply from (\S+) \[([0-9A-Fa-f:]+)\]/g)].map((m) => m[2]!.toLowerCase());
}

/**
 * The MACs of every neighbor advertisement for `ip` seen within `waitMs` of one solicitation (-m: all of them, so a
 * second answerer would show). An unsolicited advertisement falling in the window shows too: callers that need
 * "exactly one answer" check that every MAC is the owner's.
 */
export async function ndiscMacs(ns: string, ifname: string, ip: string, waitMs = 500): Promise<string[]> {
  const out = await probe('ip', 'netns', 'exec', ns, 'ndisc6', '-m', '-n', '-r', '1', '-w', String(waitMs), ip, ifname);
  return [...out.matchAll(/Target link-layer address: ([0-9A-Fa-f:]+)/g)].map((m) => m[1]!.toLowerCase());
}

/**
 * How long until `ip` is answered over IPv6 by `mac`: ndisc6 soliciting every 100 ms until an advertisement comes,
 * run again while the answer is another MAC (a node's old one, until it notices its change), up to `deadlineMs`;
 * returns the last answer's MACs and the time from `since` (performance.now()) to it.
 */
export async function ndiscAnsweredAfter(
  ns: string,
  ifname: string,
  ip: string,
  mac: string,
  since: number,
  deadlineMs = 5000,
): Promise<{ macs: string[]; ms: number }> {
  for (;;) {
    const tries = String(Math.max(1, Math.ceil((since + deadlineMs - performance.now()) / 100)));
    const out = await probe('ip', 'netns', 'exec', ns, 'ndisc6', '-1', '-n', '-r', tries, '-w', '100', ip, ifname);
    const ms = Math.round(performance.now() - since);
    const macs = [...out.matchAll(/Target link-layer address: ([0-9A-Fa-f:]+)/g)].map((m) => m[1]!.toLowerCase());
    if (macs.includes(mac) || ms >= deadlineMs) return { macs, ms };
  }
}

/**
 * `ip` answered from `ns` over `ifname`, IPv4 or IPv6 by its text, by exactly one MAC, `mac`: for IPv4, arping's three
 * requests get one reply each, all from `mac` (a second answerer shows as another MAC or a fourth reply); for IPv6,
 * every advertisement ndisc6 sees is from `mac`. Unanswered asks are retried up to `tries` times (a speaker may
 * still be taking the address back); returns what each try saw, for the assertion message.
 */
export async function answeredOnlyBy(
  ns: string,
  ifname: string,
  ip: string,
  mac: string,
  tries = 5,
): Promise<{ ok: boolean; seen: string[][] }> {
  const seen: string[][] = [];
  for (let i = 0; i < tries; i++) {
    const macs = ip.includes(':') ? await ndiscMacs(ns, ifname, ip, 1000) : await arpingMacs(ns, ifname, ip);
    seen.push(macs);
    if (macs.some((m) => m !== mac) || macs.length > 3) return { ok: false, seen };
    if (ip.includes(':') ? macs.length > 0 : macs.length === 3) return { ok: true, seen };
  }
  return { ok: false, seen };
}
