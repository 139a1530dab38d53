// Reading BIRD 2's answers and log, pure (the BGP lab's router, bgp-router.ts, runs BIRD; its self-test checks these
// on recorded text): protocol names, session resets from the log, the protocol table, next hops.

/** A BIRD protocol name for a node's session of one family. */
export const protocolName = (node: string, family: 'v4' | 'v6') => `${node.replace(/\W/g, '_')}_${family}`;

/**
 * Session resets per BGP protocol in a BIRD log written with `debug protocols { states }` (or more): BIRD logs every
 * protocol state change (`<name>: State changed to <state>`), and a BGP protocol is `up` exactly while its session is
 * Established, so each change from `up` to anything else is one session that was Established and went down (BFD down,
 * hold timer, a NOTIFICATION, the peer closing). A session that never reached Established counts nothing. Reading the
 * log rather than polling `show protocols` misses no reset that came back up between two polls.
 */
export function countResets(log: string, protocols: Iterable<string>): Map<string, number> {
  const counts = new Map<string, number>([...protocols].map((p) => [p, 0]));
  const up = new Map<string, boolean>();
  for (const match of log.matchAll(/<TRACE> (\w+): State changed to (\w+)/g)) {
    const [, name, state] = match as unknown as [string, string, string];
    if (!counts.has(name)) continue;
    if (up.get(name) === true && state !== 'up') counts.set(name, counts.get(name)! + 1);
    up.set(name, state === 'up');
  }
  return counts;
}

/** The BGP rows of `birdc show protocols`: name and Info column (`Established`, `Active  Socket: ...`, ...). */
export function parseProtocols(text: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^(\w+)\s+BGP\s+\S+\s+\S+\s+\S+\s+(\w+)/.exec(line);
    if (match) rows.set(match[1]!, match[2]!);
  }
  return rows;
}

/** The next hops (`via <address>`) of a `birdc show route` or `ip route show` answer, in order. */
export function nextHops(text: string): string[] {
  return [...text.matchAll(/\bvia (?:inet6 )?([0-9a-fA-F.:]+)/g)].map((m) => m[1]!);
}
