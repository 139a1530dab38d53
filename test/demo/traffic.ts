// What the metal demo shows as root, once the Service has its address: the speakers answering for it on the demo LAN
// (lab.ts). From the client's namespace: `arping` (whose MAC answers), `curl` (which node served), then the owner's
// link taken down and the time until the client's neighbor entry moves to another node, and arping and curl again.
import { type DemoLab, type LabNode, probe, sh } from './lab.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const MAC = /[0-9a-f]{2}(?::[0-9a-f]{2}){5}/i;

/** Prints the traffic part; returns false (after saying why) when something did not happen as it should. */
export async function showTraffic(lab: DemoLab, vip: string): Promise<boolean> {
  const nodeOf = (mac: string | undefined) => lab.nodes.find((n) => n.mac === mac?.toLowerCase());
  const holders = await converged(lab);
  if (holders === undefined) {
    console.log(`\nthe speakers did not agree on an owner for ${vip} within 20 s; their logs: ${lab.logDir}`);
    return false;
  }
  console.log(`\nTraffic to ${vip} on the demo LAN, from the client's namespace ${lab.clientNs}:`);
  const before = await arping(lab, vip);
  const owner = nodeOf(before.mac);
  console.log(`$ arping -c 1 -I eth0 ${vip}\n  ${before.line}${owner ? `   <- ${owner.name}` : ''}`);
  console.log(`$ curl http://${vip}/\n  ${await curl(lab, vip)}`);
  if (owner === undefined) {
    console.log(`no node answered ARP for ${vip}; the speakers' logs: ${lab.logDir}`);
    return false;
  }

  console.log(`$ ip -n ${owner.ns} link set eth0 down     # ${owner.name}'s link fails`);
  const failedAt = performance.now();
  await sh('ip', '-n', owner.ns, 'link', 'set', 'eth0', 'down');
  let successor: LabNode | undefined;
  while (successor === undefined && performance.now() - failedAt < 10_000) {
    // The entry the client's curl left, updated by the new owner's gratuitous ARP without the client asking.
    const entry = await probe('ip', '-n', lab.clientNs, 'neigh', 'show', vip, 'dev', lab.clientIf);
    const now = nodeOf(entry.match(MAC)?.[0]);
    if (now !== undefined && now !== owner) successor = now;
    else await sleep(5);
  }
  const tookMs = Math.round(performance.now() - failedAt);
  if (successor === undefined) {
    console.log(`  no other node took ${vip} over within 10 s; the speakers' logs: ${lab.logDir}`);
    return false;
  }
  console.log(`  failover: ${successor.name} took ${vip} over ${tookMs} ms after the link went down`);
  const after = await arping(lab, vip);
  const answered = nodeOf(after.mac);
  console.log(`$ arping -c 1 -I eth0 ${vip}\n  ${after.line}${answered ? `   <- ${answered.name}` : ''}`);
  console.log(`$ curl http://${vip}/\n  ${await curl(lab, vip)}`);
  return answered === successor;
}

/** Waits until every speaker sees all three and exactly one holds the address, for a second; the holders, or undefined. */
async function converged(lab: DemoLab): Promise<LabNode[] | undefined> {
  const deadline = performance.now() + 20_000;
  let since = Number.POSITIVE_INFINITY;
  while (performance.now() < deadline) {
    const state = await Promise.all(
      lab.nodes.map(async (n) => ({
        node: n,
        members: await lab.metric(n, 'drawbridge_speaker_members{state="alive"}'),
        held: await lab.metric(n, 'drawbridge_speaker_addresses_held{family="IPv4"}'),
      })),
    );
    const holders = state.filter((s) => s.held === 1).map((s) => s.node);
    const agreed = state.every((s) => s.members === lab.nodes.length) && holders.length === 1;
    since = agreed ? Math.min(since, performance.now()) : Number.POSITIVE_INFINITY;
    // A second stable: while members join the address may move, and its takeover burst lasts 600 ms.
    if (performance.now() - since >= 1000) return holders;
    await sleep(100);
  }
  return undefined;
}

/** One ARP request from the client: the reply line and the MAC in it. */
async function arping(lab: DemoLab, vip: string): Promise<{ line: string; mac?: string }> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const out = await probe('ip', 'netns', 'exec', lab.clientNs, 'arping', '-c', '1', '-w', '1', '-I', 'eth0', vip);
    const line = out.split('\n').find((l) => /reply from/i.test(l));
    if (line !== undefined) return { line: line.trim(), mac: line.match(MAC)?.[0] };
  }
  return { line: '(no reply)' };
}

/** One HTTP request from the client: the answer, or what went wrong. */
async function curl(lab: DemoLab, vip: string): Promise<string> {
  for (let attempt = 0; attempt < 3; attempt++) {
    const out = await probe('ip', 'netns', 'exec', lab.clientNs, 'curl', '-s', '--max-time', '1', `http://${vip}/`);
    if (out.trim() !== '') return out.trim();
  }
  return '(no answer)';
}
