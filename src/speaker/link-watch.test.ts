import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { watchPacketSocket } from './link-watch.ts';
import type { LinkState, PacketSocket, SocketErrorHandler } from './packet-socket.ts';

beforeEach(() => mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'] }));
afterEach(() => mock.timers.reset());

/** A fake interface and the sockets opened on it. */
function fakeLink() {
  const link: { state: LinkState | null; failOpens: number } = {
    state: { ifindex: 7, mac: '02:00:00:00:00:07', up: true },
    failOpens: 0,
  };
  const sockets: Array<PacketSocket & { closed: boolean; error: SocketErrorHandler; frame: (f: Buffer) => void }> = [];
  const open = (ifname: string, _kind: string, onFrame: (f: Buffer) => void, onError: SocketErrorHandler) => {
    if (link.failOpens > 0) {
      link.failOpens--;
      throw Object.assign(new Error('no interface'), { code: 'ENODEV' });
    }
    const { ifindex, mac } = link.state!;
    const socket = {
      ifname,
      ifindex,
      mac,
      closed: false,
      error: onError,
      frame: onFrame,
      send() {},
      addMulticast() {},
      dropMulticast() {},
      close() {
        socket.closed = true;
      },
    };
    sockets.push(socket);
    return socket;
  };
  return { link, sockets, open, readLink: () => link.state };
}

function watch(fake: ReturnType<typeof fakeLink>) {
  const events: string[] = [];
  const frames: string[] = [];
  const watcher = watchPacketSocket({
    ifname: 'lan0',
    kind: 'arp',
    open: fake.open,
    readLink: fake.readLink,
    onFrame: (frame, socket) => frames.push(`${frame.toString()}@${socket.mac}`),
    onLost: (reason) => events.push(`lost ${reason}`),
    onReopen: (socket, reason) => events.push(`reopened ${reason} ${socket.ifindex} ${socket.mac}`),
  });
  return { watcher, events, frames };
}

describe('watchPacketSocket', () => {
  it('a socket error closes the socket; it is reopened once the link is up again, within one poll', () => {
    const fake = fakeLink();
    const { watcher, events } = watch(fake);
    fake.link.state = { ...fake.link.state!, up: false };
    fake.sockets[0]!.error('ENETDOWN', 'network is down');
    assert.equal(fake.sockets[0]!.closed, true);
    assert.equal(watcher.current(), null);
    // Down for a while: no socket is opened on a down link.
    mock.timers.tick(2000);
    assert.equal(fake.sockets.length, 1);
    fake.link.state = { ...fake.link.state, up: true };
    mock.timers.tick(250);
    assert.equal(fake.sockets.length, 2);
    assert.equal(watcher.current(), fake.sockets[1]);
    assert.deepEqual(events, ['lost ENETDOWN', 'reopened ENETDOWN 7 02:00:00:00:00:07']);
    watcher.close();
  });

  it('an error with the link still up is retried after the first backoff step (50 ms)', () => {
    const fake = fakeLink();
    const { watcher, events } = watch(fake);
    fake.sockets[0]!.error('ENOBUFS', 'no buffer space');
    mock.timers.tick(49);
    assert.equal(watcher.current(), null);
    mock.timers.tick(1);
    assert.equal(watcher.current(), fake.sockets[1]);
    assert.deepEqual(events, ['lost ENOBUFS', 'reopened ENOBUFS 7 02:00:00:00:00:07']);
    watcher.close();
  });

  it('the interface re-created (new ifindex) or its MAC changed reopens on the new one without any socket error', () => {
    const fake = fakeLink();
    const { watcher, events, frames } = watch(fake);
    fake.link.state = { ifindex: 9, mac: '02:00:00:00:00:07', up: true };
    mock.timers.tick(250);
    mock.timers.tick(50);
    assert.equal(watcher.current()?.ifindex, 9);
    fake.link.state = { ifindex: 9, mac: '02:00:00:00:00:99', up: true };
    // Noticed at the next poll (500 ms); the socket before lived less than 1 s, so the wait has doubled to 100 ms.
    mock.timers.tick(200);
    mock.timers.tick(99);
    assert.equal(watcher.current(), null);
    mock.timers.tick(1);
    assert.equal(watcher.current()?.mac, '02:00:00:00:00:99');
    // Frames arrive with the socket they came on, so an answer carries the new MAC.
    fake.sockets.at(-1)!.frame(Buffer.from('who-has'));
    assert.deepEqual(frames, ['who-has@02:00:00:00:00:99']);
    assert.deepEqual(events, [
      'lost ifindex-changed',
      'reopened ifindex-changed 9 02:00:00:00:00:07',
      'lost mac-changed',
      'reopened mac-changed 9 02:00:00:00:00:99',
    ]);
    watcher.close();
  });

  it('the interface gone: waits for it; failed opens back off, doubling from where the loss left it', () => {
    const fake = fakeLink();
    const { watcher, events } = watch(fake);
    fake.link.state = null;
    mock.timers.tick(250);
    assert.deepEqual(events, ['lost link-gone']);
    mock.timers.tick(5000);
    assert.equal(fake.sockets.length, 1);
    // Back, but the first three opens fail (say, not yet bound to its new index).
    fake.link.state = { ifindex: 11, mac: '02:00:00:00:00:07', up: true };
    fake.link.failOpens = 3;
    // The loss waited 50 ms, so: the poll's open fails, then 100 ms later, then 200 ms later; 400 ms later it opens.
    mock.timers.tick(250);
    mock.timers.tick(100);
    mock.timers.tick(200);
    assert.equal(fake.link.failOpens, 0);
    mock.timers.tick(399);
    assert.equal(watcher.current(), null);
    mock.timers.tick(1);
    assert.equal(watcher.current()?.ifindex, 11);
    assert.deepEqual(events, ['lost link-gone', 'reopened link-gone 11 02:00:00:00:00:07']);
    watcher.close();
  });

  it('an error on a socket already replaced, or after close, changes nothing', () => {
    const fake = fakeLink();
    const { watcher, events } = watch(fake);
    watcher.fail('ENETDOWN');
    mock.timers.tick(50);
    fake.sockets[0]!.error('ENETDOWN', 'late');
    assert.equal(watcher.current(), fake.sockets[1]);
    watcher.close();
    assert.equal(fake.sockets[1]!.closed, true);
    fake.sockets[1]!.error('ENODEV', 'after close');
    mock.timers.tick(5000);
    assert.equal(fake.sockets.length, 2);
    assert.deepEqual(events, ['lost ENETDOWN', 'reopened ENETDOWN 7 02:00:00:00:00:07']);
  });
});
