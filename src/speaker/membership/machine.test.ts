// The membership machine on an in-memory network with a fake clock: every timeout is exact, so the bounds in
// docs/failure-model.md (first probe within T, then ack + indirect timeouts, then suspicion) are checked to the
// millisecond. Each test names what it breaks: a member, one link, or a member's whole connectivity.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeMessage, encodeMessage } from './codec.ts';
import { MembershipMachine } from './machine.ts';

/** A deterministic PRNG so runs repeat exactly. */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

class Net {
  now = 0;
  readonly machines = new Map<string, MembershipMachine>();
  /** Members whose datagrams are all lost, both ways (killed, or cut off). */
  readonly down = new Set<string>();
  /** Broken links, `a|b` both ways. */
  readonly cut = new Set<string>();
  /** Killed members do not even tick. */
  readonly killed = new Set<string>();
  /** Members whose own datagrams are lost while they still hear everyone (a half-broken NIC, a starved sender). */
  readonly muted = new Set<string>();
  datagrams = 0;

  constructor(names: string[], seed = 1) {
    for (const name of names) {
      const machine = new MembershipMachine(
        { name, addr: name, seeds: [names[0]!], incarnation: 1, random: lcg(seed++) },
        this.now,
      );
      this.machines.set(name, machine);
    }
  }

  get(name: string): MembershipMachine {
    return this.machines.get(name)!;
  }

  private lost(from: string, to: string): boolean {
    if (this.muted.has(from)) return true;
    return this.down.has(from) || this.down.has(to) || this.cut.has(`${from}|${to}`) || this.cut.has(`${to}|${from}`);
  }

  /** Advances the clock 1 ms at a time, delivering every datagram within the same millisecond. */
  run(ms: number, until?: () => boolean): number {
    const end = this.now + ms;
    while (this.now < end) {
      this.now++;
      for (const [name, machine] of this.machines) if (!this.killed.has(name)) machine.tick(this.now);
      this.deliver();
      if (until?.()) return this.now;
    }
    return this.now;
  }

  deliver(): void {
    for (let moved = true; moved; ) {
      moved = false;
      for (const [from, machine] of this.machines) {
        for (const { to, message } of machine.drain()) {
          moved = true;
          this.datagrams++;
          if (this.killed.has(to) || this.lost(from, to)) continue;
          // Through the codec, as on the wire.
          this.get(to).receive(decodeMessage(encodeMessage(message))!, this.now);
        }
      }
    }
  }

  /** Whether every member in `observers` sees `name` as `state` (undefined: not in the view at all). */
  agree(observers: string[], name: string, state: string): boolean {
    return observers.every((o) => this.get(o).stateOf(name) === state);
  }
}

const names = (n: number) => Array.from({ length: n }, (_, i) => `node-${i}`);
// First probe within T (100), ack timeout (50), indirect timeout (50), suspicion (250), one tick.
const DETECTION_BOUND_MS = 100 + 50 + 50 + 250 + 2;

describe('membership machine', () => {
  it('members join through one seed and converge on the same view', () => {
    const net = new Net(names(5));
    net.run(3000);
    for (const machine of net.machines.values()) assert.deepEqual(machine.live(), names(5));
    assert.deepEqual(net.get('node-3').quorum(net.now), { quorum: true, reachable: 5, reference: 5 });
  });

  it('a member with seeds has no quorum until it has joined, so a restart cannot announce over the others', () => {
    const net = new Net(names(3));
    net.down.add('node-0');
    net.run(500);
    assert.equal(net.get('node-2').quorum(net.now).quorum, false);
    net.down.delete('node-0');
    net.run(500);
    assert.equal(net.get('node-2').quorum(net.now).quorum, true);
  });

  it('a killed member is agreed dead by every survivor within the detection bound, and only it', () => {
    for (const size of [3, 5, 10]) {
      const net = new Net(names(size), size);
      net.run(3000);
      const victim = `node-${size - 1}`;
      const survivors = names(size - 1);
      const killedAt = net.now;
      net.killed.add(victim);
      const agreedAt = net.run(2000, () => net.agree(survivors, victim, 'dead'));
      assert.ok(net.agree(survivors, victim, 'dead'), `size ${size}: not agreed dead`);
      assert.ok(agreedAt - killedAt <= DETECTION_BOUND_MS, `size ${size}: took ${agreedAt - killedAt} ms`);
      for (const machine of [...net.machines.values()].filter((m) => m.name !== victim)) {
        assert.deepEqual(machine.live(), survivors);
      }
    }
  });

  it('a member that misses probes for a moment refutes the suspicion with a higher incarnation', () => {
    const net = new Net(names(3));
    net.run(3000);
    net.down.add('node-2');
    net.run(160, () => net.get('node-0').stateOf('node-2') === 'suspect');
    assert.equal(net.get('node-0').stateOf('node-2'), 'suspect');
    net.down.delete('node-2');
    net.run(1000);
    assert.ok(net.agree(['node-0', 'node-1'], 'node-2', 'alive'));
    assert.deepEqual(net.get('node-0').live(), names(3));
  });

  it('an accused member stops counting itself eligible before anyone can take over from it, and until its refutation has settled', () => {
    const net = new Net(names(3));
    net.run(3000);
    const victim = net.get('node-2');
    const others = [net.get('node-0'), net.get('node-1')];
    // Announcing, as the speaker decides it: quorum, eligible in its own view, and, back in the quorum after losing it,
    // the speaker's 200 ms planned-move delay over. Someone else may take over once it is out of their view.
    let quorumSince = 0;
    const announces = () => {
      const quorum = victim.quorum(net.now).quorum;
      if (!quorum) quorumSince = Number.POSITIVE_INFINITY;
      else if (quorumSince === Number.POSITIVE_INFINITY) quorumSince = net.now;
      return quorum && net.now - quorumSince >= 200 && victim.eligibleMembers().includes('node-2');
    };
    const takenOver = () => others.some((m) => !m.eligibleMembers().includes('node-2'));
    // Its datagrams are lost, but it still hears the others: it is accused, cannot refute in time and is declared
    // dead, while nothing tells it it is cut off. At no millisecond may it announce while another would take over.
    net.muted.add('node-2');
    let overlap = 0;
    let accusedAt = -1;
    for (let ms = 0; ms < 3000; ms++) {
      net.run(1);
      if (victim.isAccused() && accusedAt < 0) accusedAt = net.now;
      if (announces() && takenOver()) overlap++;
    }
    assert.ok(accusedAt > 0, 'never accused');
    assert.ok(net.agree(['node-0', 'node-1'], 'node-2', 'dead'));
    assert.equal(overlap, 0, 'milliseconds with two announcers');
    // Heard again: the refutation settles everyone, then it announces again, and only then.
    net.muted.delete('node-2');
    let back = -1;
    for (let ms = 0; ms < 3000 && back < 0; ms++) {
      net.run(1);
      if (announces() && takenOver()) overlap++;
      if (announces()) back = net.now;
    }
    assert.equal(overlap, 0, 'milliseconds with two announcers after the heal');
    assert.ok(back > 0, 'never announced again');
    assert.ok(net.agree(['node-0', 'node-1'], 'node-2', 'alive'));
    assert.equal(victim.isAccused(), false);
  });

  it('a healing partition: the cut-off side’s stale view never makes a bystander drop a live member', () => {
    const net = new Net(names(3));
    net.run(3000);
    // node-2 cut off from both others: each side holds the other side dead.
    net.down.add('node-2');
    net.run(3000);
    assert.ok(net.agree(['node-0', 'node-1'], 'node-2', 'dead'));
    assert.equal(net.get('node-2').stateOf('node-1'), 'dead');
    // Healed: node-2's view (node-0 and node-1 dead) reaches them. node-0 has heard node-1 all along: at no
    // millisecond may it hold node-1 dead (it would take node-1's addresses while node-1 still answers).
    net.down.delete('node-2');
    let dropped = 0;
    for (let ms = 0; ms < 3000; ms++) {
      net.run(1);
      if (net.get('node-0').stateOf('node-1') !== 'alive') dropped++;
      if (net.get('node-1').stateOf('node-0') !== 'alive') dropped++;
    }
    assert.equal(dropped, 0, 'milliseconds in which a bystander held a live member not alive');
    for (const machine of net.machines.values()) assert.deepEqual(machine.live(), names(3), 'views merged');
  });

  it('confirm: confirmedSince turns true only once every live member has acknowledged a ping sent after it', () => {
    const net = new Net(names(3));
    net.run(3000);
    const member = net.get('node-0');
    net.muted.add('node-2');
    const since = net.now;
    member.confirm(since);
    net.run(200);
    assert.equal(member.confirmedSince(since), false, 'node-2 cannot have acknowledged');
    net.muted.delete('node-2');
    net.run(60);
    assert.equal(member.confirmedSince(since), true);
  });

  it('one broken link does not condemn a member: the indirect probe gets through', () => {
    const net = new Net(names(3));
    net.run(3000);
    net.cut.add('node-0|node-2');
    let suspected = false;
    net.run(3000, () => {
      suspected ||= net.get('node-0').stateOf('node-2') !== 'alive' || net.get('node-2').stateOf('node-0') !== 'alive';
      return false;
    });
    assert.equal(suspected, false);
  });

  it('a member cut off from everyone loses quorum at once; the majority keeps it and declares it dead', () => {
    const net = new Net(names(5));
    net.run(3000);
    net.down.add('node-4');
    const cutAt = net.now;
    const fencedAt = net.run(1000, () => !net.get('node-4').quorum(net.now).quorum);
    const majority = names(4);
    const deadAt = net.run(1000, () => net.agree(majority, 'node-4', 'dead'));
    assert.equal(net.get('node-4').quorum(net.now).quorum, false);
    for (const name of majority) assert.equal(net.get(name).quorum(net.now).quorum, true, name);
    // The cut-off member must stop before the majority takes its addresses over.
    assert.ok(fencedAt < deadAt, `fenced at +${fencedAt - cutAt} ms, dead at +${deadAt - cutAt} ms`);
  });

  it('a member cut off from everyone fences itself well before any survivor can declare it dead, whenever the cut falls', () => {
    // The takeover race of a partition: the cut-off owner must stop answering before the first survivor acts on its
    // death. The speaker re-evaluates quorum every 25 ms, and a loaded machine delays that further, so a tie is a
    // double answer: the fence must lead by a margin, for every phase of the cut against the probe schedule.
    const MARGIN_MS = 75;
    let worst = Number.POSITIVE_INFINITY;
    for (let seed = 1; seed <= 12; seed++) {
      for (const settle of [3000, 3013, 3029, 3041, 3067, 3089]) {
        const net = new Net(names(3), seed * 7);
        net.run(settle);
        net.down.add('node-2');
        const cutAt = net.now;
        const fencedAt = net.run(1000, () => !net.get('node-2').quorum(net.now).quorum);
        const survivors = names(2);
        const dead = () => survivors.some((n) => net.get(n).stateOf('node-2') === 'dead');
        assert.equal(dead(), false, 'declared dead before the cut-off member fenced itself');
        const firstDeadAt = net.run(1000, dead);
        worst = Math.min(worst, firstDeadAt - fencedAt);
        assert.ok(
          firstDeadAt - fencedAt >= MARGIN_MS,
          `seed ${seed}, cut at ${settle}: fenced at +${fencedAt - cutAt} ms, first declared dead at +${firstDeadAt - cutAt} ms`,
        );
      }
    }
    assert.ok(worst >= MARGIN_MS, `worst lead ${worst} ms`);
  });

  it('a cut-off member that declared everyone dead, and was declared dead, rejoins once its link is back', () => {
    const net = new Net(names(3));
    net.run(3000);
    net.down.add('node-2');
    // Long past suspicion on both sides: node-2 holds node-0 and node-1 dead, they hold node-2 dead.
    net.run(2000);
    assert.deepEqual(net.get('node-2').live(), ['node-2']);
    assert.deepEqual(net.get('node-0').live(), ['node-0', 'node-1']);
    net.down.delete('node-2');
    net.run(5000, () => names(3).every((n) => net.get(n).live().length === 3));
    for (const name of names(3)) {
      assert.deepEqual(net.get(name).live(), names(3), name);
      assert.equal(net.get(name).quorum(net.now).quorum, true, name);
    }
  });

  it('the minority of a split loses quorum, the majority keeps it', () => {
    const net = new Net(names(5));
    net.run(3000);
    for (const a of ['node-0', 'node-1']) for (const b of ['node-2', 'node-3', 'node-4']) net.cut.add(`${a}|${b}`);
    net.run(2000);
    assert.deepEqual(
      names(5).map((n) => net.get(n).quorum(net.now).quorum),
      [false, false, true, true, true],
    );
  });

  it('a graceful leave and an eligibility change reach everyone at once', () => {
    const net = new Net(names(3));
    net.run(3000);
    net.get('node-1').setEligible(false);
    net.deliver();
    assert.deepEqual(net.get('node-0').eligibleMembers(), ['node-0', 'node-2']);
    net.get('node-2').leave();
    net.deliver();
    assert.deepEqual(net.get('node-0').live(), ['node-0', 'node-1']);
    assert.equal(net.get('node-1').stateOf('node-2'), 'dead');
  });
});
