// The datagram checks one by one: what each refuses and why, on a fake clock.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { DatagramAuth, type Opened } from './auth.ts';
import { beyondIncarnationBound } from './members.ts';

const KEY = randomBytes(32);
const OTHER = randomBytes(32);
const TO = '10.0.0.2:7947';
const payload = Buffer.from('{"type":"update","from":"node-a","updates":[]}');

function pair(sender = KEY, receiverSign = KEY, receiverAlso?: Buffer) {
  const clock = { now: 1_700_000_000_000 };
  const now = () => clock.now;
  const a = new DatagramAuth('node-a', () => ({ sign: sender }), 30_000, now);
  const b = new DatagramAuth('node-b', () => ({ sign: receiverSign, also: receiverAlso }), 30_000, now);
  return { a, b, clock };
}

const opened = (result: Opened | string): Opened => {
  assert.notEqual(typeof result, 'string', `refused: ${String(result)}`);
  return result as Opened;
};

describe('membership datagram authentication', () => {
  it('accepts a datagram sealed with the shared key, once, with its payload intact', () => {
    const { a, b } = pair();
    const datagram = a.seal(payload, TO);
    const got = opened(b.open(datagram, TO));
    assert.deepEqual(got.payload, payload);
    assert.equal(got.sender, 'node-a', 'the sender named in the header');
    assert.equal(b.accept('node-a', got), true);
    assert.equal(b.accept('node-a', opened(b.open(datagram, TO))), false, 'the same datagram again is a replay');
  });

  it('refuses another key, a changed byte, another destination, and bytes that are not a datagram', () => {
    const { a, b } = pair(OTHER);
    assert.equal(b.open(a.seal(payload, TO), TO), 'bad-mac');
    const good = pair();
    const datagram = good.a.seal(payload, TO);
    const flipped = Buffer.from(datagram);
    flipped[30] = flipped[30]! ^ 1;
    assert.equal(good.b.open(flipped, TO), 'bad-mac');
    assert.equal(good.b.open(datagram, '10.0.0.3:7947'), 'bad-mac', 'captured on its way to another member');
    assert.equal(good.b.open(randomBytes(200), TO), 'malformed');
    assert.equal(good.b.open(Buffer.from('DBM1'), TO), 'malformed');
    const renamed = Buffer.from(datagram);
    renamed[23] = renamed[23]! ^ 1; // a letter of the sender's name
    assert.equal(good.b.open(renamed, TO), 'bad-mac', 'the sender name is authenticated too');
    assert.equal(good.b.open(payload, TO), 'malformed', 'an unauthenticated (insecure-mode) datagram');
  });

  it('accepts either key while one rotates in or out', () => {
    const signedWithOld = pair(OTHER, KEY, OTHER);
    assert.notEqual(typeof signedWithOld.b.open(signedWithOld.a.seal(payload, TO), TO), 'string');
    const signedWithNew = pair(KEY, OTHER, KEY);
    assert.notEqual(typeof signedWithNew.b.open(signedWithNew.a.seal(payload, TO), TO), 'string');
  });

  it('refuses a datagram older than the window even at a receiver that remembers nothing', () => {
    const { a, clock } = pair();
    const datagram = a.seal(payload, TO);
    clock.now += 30_001;
    const fresh = new DatagramAuth(
      'node-b',
      () => ({ sign: KEY }),
      30_000,
      () => clock.now,
    );
    assert.equal(fresh.open(datagram, TO), 'stale');
  });

  it('accepts datagrams out of order within the last 64, never twice, and none from an earlier boot', () => {
    const { a, b, clock } = pair();
    const sent = Array.from({ length: 70 }, () => a.seal(payload, TO));
    const accept = (d: Buffer) => b.accept('node-a', opened(b.open(d, TO)));
    assert.equal(accept(sent[69]!), true);
    assert.equal(accept(sent[10]!), true, 'overtaken, within the window');
    assert.equal(accept(sent[10]!), false);
    assert.equal(accept(sent[5]!), false, 'behind the window');
    // node-a restarts: a later boot resets its window; the earlier boot's datagrams are refused from then on.
    clock.now += 1000;
    const restarted = new DatagramAuth(
      'node-a',
      () => ({ sign: KEY }),
      30_000,
      () => clock.now,
    );
    assert.equal(accept(restarted.seal(payload, TO)), true);
    assert.equal(accept(sent[68]!), false, 'a datagram of the previous boot');
  });
});

describe('the incarnation bound', () => {
  const now = 1_700_000_000_000;
  const u = (name: string, incarnation: number) => ({
    name,
    addr: '10.0.0.1:7947',
    state: 'suspect' as const,
    incarnation,
    eligible: true,
  });
  it('refuses an incarnation ahead of the clock by more than the window, and twice the window for ourselves', () => {
    assert.equal(beyondIncarnationBound([u('node-b', now + 30_000)], 'node-a', now, 30_000), false);
    assert.equal(beyondIncarnationBound([u('node-b', now + 30_001)], 'node-a', now, 30_000), true);
    assert.equal(beyondIncarnationBound([u('node-b', 2 ** 53 - 1)], 'node-a', now, 30_000), true);
    assert.equal(beyondIncarnationBound([u('node-a', now + 60_000)], 'node-a', now, 30_000), false);
    assert.equal(beyondIncarnationBound([u('node-a', now + 60_001)], 'node-a', now, 30_000), true);
  });
});
