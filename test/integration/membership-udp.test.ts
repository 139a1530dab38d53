// Three members over real UDP on loopback (127.0.0.2-4, ephemeral ports): two in this process, one in a child that is
// killed with SIGKILL, as a node dies. Both survivors must agree it is dead. The measured detection times are printed;
// the assertion is only a generous correctness deadline, as a shared CI machine's timers are not ours to promise.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { startUdpMembership, type UdpMembership } from '../../src/speaker/membership/udp.ts';

const MEMBER_MAIN = fileURLToPath(new URL('./membership/member-main.ts', import.meta.url));
const DEADLINE_MS = 5000;
const RUNS = 3;

const KEY = randomBytes(32);
const auth = { keys: () => ({ sign: KEY }) };
/** Each member sends from its own loopback address, as a node from its InternalIP. */
const HOSTS: Record<string, string> = { 'node-a': '127.0.0.2', 'node-b': '127.0.0.3', 'node-c': '127.0.0.4' };
const senderAllowed = (name: string, address: string) => HOSTS[name] === address;

async function waitUntil(check: () => boolean, ms: number): Promise<boolean> {
  const deadline = performance.now() + ms;
  while (!check() && performance.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  return check();
}

describe('membership over UDP on loopback', () => {
  it(`a killed member is agreed dead by both survivors (${RUNS} runs)`, async () => {
    const measured: number[][] = [];
    for (let run = 0; run < RUNS; run++) {
      const members: UdpMembership[] = [];
      const a = await startUdpMembership({ name: 'node-a', host: '127.0.0.2', port: 0, auth, senderAllowed });
      members.push(
        a,
        await startUdpMembership({ name: 'node-b', host: '127.0.0.3', port: 0, seeds: [a.addr], auth, senderAllowed }),
      );
      const child = spawn(process.execPath, [MEMBER_MAIN, 'node-c', '127.0.0.4', a.addr, KEY.toString('hex')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
        assert.match(line, /^127\.0\.0\.4:\d+$/);
        const joined = await waitUntil(() => members.every((m) => m.machine.live().length === 3), DEADLINE_MS);
        assert.ok(joined, 'the three members did not converge');
        // Let the probes settle into their steady rhythm before the failure.
        await new Promise((r) => setTimeout(r, 300));

        const deadAt = new Map<string, number>();
        for (const m of members) {
          m.machine.onChange(() => {
            if (m.machine.stateOf('node-c') === 'dead' && !deadAt.has(m.machine.name)) {
              deadAt.set(m.machine.name, performance.now());
            }
          });
        }
        const killedAt = performance.now();
        child.kill('SIGKILL');
        const agreed = await waitUntil(() => deadAt.size === 2, DEADLINE_MS);
        assert.ok(agreed, `not agreed dead within ${DEADLINE_MS} ms: ${JSON.stringify([...deadAt.keys()])}`);
        measured.push([...deadAt.values()].map((t) => Math.round(t - killedAt)));
        for (const m of members) assert.deepEqual(m.machine.live(), ['node-a', 'node-b']);
        for (const m of members) assert.equal(m.machine.quorum(performance.now()).quorum, true);
      } finally {
        child.kill('SIGKILL');
        for (const m of members) await m.stop();
      }
    }
    const all = measured.flat().sort((x, y) => x - y);
    console.log(`membership detection_ms runs=${RUNS} per-run=${JSON.stringify(measured)} max=${all.at(-1)}`);
  });

  it('a member with another key, or sending under another member’s name, is never believed, and is counted', async () => {
    const a = await startUdpMembership({ name: 'node-a', host: '127.0.0.2', port: 0, auth, senderAllowed });
    const other = { keys: () => ({ sign: randomBytes(32) }) };
    const members = [
      a,
      await startUdpMembership({ name: 'node-b', host: '127.0.0.3', port: 0, seeds: [a.addr], auth: other }),
      // The right key, but node-c's name from node-b's address.
      await startUdpMembership({ name: 'node-c', host: '127.0.0.3', port: 0, seeds: [a.addr], auth }),
    ];
    try {
      const counted = await waitUntil(() => a.dropped['bad-mac'] >= 3 && a.dropped['sender-mismatch'] >= 3, 3000);
      assert.ok(counted, `drops counted: ${JSON.stringify(a.dropped)}`);
      assert.deepEqual(a.machine.live(), ['node-a'], 'node-a believes nobody');
    } finally {
      for (const m of members) await m.stop();
    }
  });
});
