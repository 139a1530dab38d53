// Local health (local-health.ts) in the membership machine, on an in-memory network with a fake clock where a member's
// loop can be held up: a held-up member neither ticks nor reads, and what was sent to it waits, as in a socket,
// until its loop runs again (reading first, then ticking, as udp.ts does after a late tick).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalHealth } from './local-health.ts';
import { MembershipMachine } from './machine.ts';
import type { Message } from './types.ts';

function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

class StallNet {
  now = 0;
  readonly machines = new Map<string, MembershipMachine>();
  /** Members that stopped for good. */
  readonly killed = new Set<string>();
  /** Members held up until the given time. */
  readonly heldUntil = new Map<string, number>();
  /** Members that run only one tick every so many ms (a CPU quota): name to period. */
  readonly throttled = new Map<string, number>();
  private readonly queued = new Map<string, Message[]>();

  constructor(names: string[]) {
    let seed = 1;
    for (const name of names) {
      const machine = new MembershipMachine(
        { name, addr: name, seeds: [names[0]!], incarnation: 1, random: lcg(seed++) },
        this.now,
      );
      this.machines.set(name, machine);
      this.queued.set(name, []);
    }
  }

  get(name: string): MembershipMachine {
    return this.machines.get(name)!;
  }

  private running(name: string): boolean {
    if (this.killed.has(name) || this.now < (this.heldUntil.get(name) ?? 0)) return false;
    const period = this.throttled.get(name);
    return period === undefined || this.now % period === 0;
  }

  /** Advances 1 ms at a time; `each` runs after every millisecond. */
  run(ms: number, each?: () => void): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now++;
      for (const [name, machine] of this.machines) {
        if (!this.running(name)) continue;
        for (const message of this.queued.get(name)!.splice(0)) machine.receive(message, this.now);
        machine.tick(this.now);
      }
      this.deliver();
      each?.();
    }
  }

  private deliver(): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (const [, machine] of this.machines) {
        for (const { to, message } of machine.drain()) {
          moved = true;
          if (this.killed.has(to)) continue;
          if (this.running(to)) this.get(to).receive(message, this.now);
          else this.queued.get(to)!.push(message);
        }
      }
    }
  }
}

describe('local health', () => {
  it('stays 0 on an on-time loop, rises on late ticks and refutations, and falls one step per recoverMs', () => {
    const health = new LocalHealth(0);
    for (let t = 10; t <= 5000; t += 10) health.tick(t);
    assert.equal(health.score, 0);
    assert.equal(health.multiplier(), 1);
    assert.equal(health.tick(5200), true);
    health.refuted(5200);
    assert.equal(health.score, 2);
    assert.equal(health.stalledSince(5000), true);
    assert.equal(health.stalledSince(5200), false);
    const { recoverMs } = health.config;
    for (let t = 5210; t <= 5200 + recoverMs; t += 10) health.tick(t);
    assert.equal(health.score, 1);
    for (let t = 5210 + recoverMs; t <= 5200 + 2 * recoverMs; t += 10) health.tick(t);
    assert.equal(health.score, 0);
  });

  it('a quiet member keeps every timing: its score stays 0 while it detects a killed member', () => {
    const net = new StallNet(['a', 'b', 'c']);
    net.run(3000);
    net.killed.add('c');
    net.run(1000);
    for (const name of ['a', 'b']) {
      assert.equal(net.get(name).localHealthScore(), 0);
      assert.equal(net.get(name).stateOf('c'), 'dead');
    }
  });

  it('a member whose loop stalls for 300 ms accuses nobody, keeps quorum throughout, and widens its timeouts', () => {
    const net = new StallNet(['a', 'b', 'c']);
    net.run(3000);
    net.heldUntil.set('a', net.now + 300);
    let lostQuorum = 0;
    // As the speaker's 25 ms timer would, also while the loop is held up (it reads the machine then).
    const check = () => {
      if (!net.get('a').quorum(net.now).quorum) lostQuorum++;
    };
    net.run(310, check);
    assert.ok(net.get('a').localHealthScore() >= 1);
    net.run(690, check);
    assert.equal(lostQuorum, 0);
    for (const observer of ['a', 'b', 'c']) {
      for (const name of ['a', 'b', 'c']) assert.equal(net.get(observer).stateOf(name), 'alive', `${observer}/${name}`);
    }
    assert.equal(net.get('b').localHealthScore(), 0);
  });

  it('a member with a high score is slower to accuse: a killed member outlives the quiet detection bound', () => {
    const quiet = new StallNet(['a', 'b']);
    const late = new StallNet(['a', 'b']);
    for (const net of [quiet, late]) net.run(3000);
    // Three short stalls, each a late tick: score 3, every timeout times 4.
    for (let i = 0; i < 3; i++) {
      late.heldUntil.set('a', late.now + 60);
      late.run(100);
      quiet.run(100);
    }
    assert.equal(late.get('a').localHealthScore(), 3);
    for (const net of [quiet, late]) net.killed.add('b');
    // Quiet: probe interval + ack + indirect + suspicion = 100 + 50 + 50 + 250 ms at most.
    quiet.run(460);
    late.run(460);
    assert.equal(quiet.get('a').stateOf('b'), 'dead');
    assert.notEqual(late.get('a').stateOf('b'), 'dead');
    late.run(2000);
    assert.equal(late.get('a').stateOf('b'), 'dead');
  });

  it('a starved member that stepped back does not come back in a short on-time gap of its starvation', () => {
    const net = new StallNet(['a', 'b', 'c']);
    net.run(3000);
    let inView = true;
    let leaves = 0;
    let returns = 0;
    const watch = () => {
      const now = net.get('b').eligibleMembers().includes('a');
      if (inView && !now) leaves++;
      if (!inView && now) returns++;
      inView = now;
    };
    // A cgroup quota runs the loop in bursts: starved for 10 s, on time for 3 s, starved again for 10 s.
    net.throttled.set('a', 400);
    net.run(10_000, watch);
    net.throttled.delete('a');
    net.run(3000, watch);
    net.throttled.set('a', 400);
    net.run(10_000, watch);
    assert.equal(leaves, 1, 'stepped back once');
    assert.equal(returns, 0, 'and stayed out through the gap');
  });

  for (const period of [100, 400]) {
    it(`a member starved of CPU for 30 s (one tick every ${period} ms) leaves the eligible members at most once, and for good while starved`, () => {
      const net = new StallNet(['a', 'b', 'c']);
      net.run(3000);
      // 100 ms: about a 5% quota of a core (answers late, but within the indirect probe's wait); 400 ms: too late for
      // any probe, so it is accused again and again.
      net.throttled.set('a', period);
      let inView = true;
      let leaves = 0;
      let returns = 0;
      net.run(30_000, () => {
        const now = net.get('b').eligibleMembers().includes('a');
        if (inView && !now) leaves++;
        if (!inView && now) returns++;
        inView = now;
      });
      assert.ok(leaves <= 1, `a left the eligible members ${leaves} times`);
      assert.equal(returns, 0);
      if (period === 400) assert.equal(net.get('a').isHeldDown(), true);
      for (const name of ['b', 'c']) assert.equal(net.get(name).localHealthScore(), 0);
      // The starvation ends: once a's loop has been on time long enough, it is eligible again, everywhere.
      net.throttled.delete('a');
      net.run(12_000);
      for (const observer of ['a', 'b', 'c']) assert.ok(net.get(observer).eligibleMembers().includes('a'), observer);
    });
  }
});
