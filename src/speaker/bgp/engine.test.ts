import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pino from 'pino';
import { type BgpPeer, DEFAULT_BFD_PROFILE } from '../../../providers/metal/model/bgp-types.ts';
import { gateBfd, startBgpEngine } from './engine.ts';
import { frrCommands } from './frr-commands.ts';
import { desiredFrrState } from './frr-state.ts';

const peer = (name: string, peerAddress: string, over: Partial<BgpPeer> = {}): BgpPeer => ({
  name,
  peerAddress,
  peerASN: 64500,
  myASN: 64512,
  port: 179,
  holdTimeSeconds: 90,
  keepaliveTimeSeconds: 30,
  ebgpMultiHop: false,
  nodeSelectors: [],
  disableBFD: false,
  ...over,
});
const wanted = desiredFrrState({
  labels: {},
  peers: [peer('a', '10.0.0.1'), peer('b', '10.0.0.2', { bfdProfile: 'fast' })],
  bfdProfiles: [{ ...DEFAULT_BFD_PROFILE, name: 'fast', receiveIntervalMs: 50 }],
  routes: [],
  password: () => undefined,
});

describe('gateBfd', () => {
  it('leaves BFD off, and its profile out, for neighbors whose session has not been up yet', () => {
    const gated = gateBfd(wanted, new Set(['10.0.0.1']));
    assert.equal(gated.neighbors.get('10.0.0.1')?.bfdProfile, 'drawbridge-default');
    assert.equal(gated.neighbors.get('10.0.0.2')?.bfdProfile, undefined);
    assert.deepEqual([...gated.bfdProfiles.keys()], ['drawbridge-default']);
  });

  it('once the session is up, the difference is the profile and one neighbor line', () => {
    const before = gateBfd(wanted, new Set(['10.0.0.1']));
    const after = gateBfd(wanted, new Set(['10.0.0.1', '10.0.0.2']));
    const lines = frrCommands(before, after);
    assert.equal(lines.bfdBefore[1], 'profile drawbridge-fast');
    assert.deepEqual(lines.bgp, ['router bgp 64512', 'neighbor 10.0.0.2 bfd profile drawbridge-fast', 'exit']);
    assert.deepEqual(lines.bfdAfter, []);
  });
});

// Stand-in bgpd and bfdd on unix sockets speaking the vty framing: `show running-config` answers `running`, JSON
// shows answer empty, every other line succeeds and is recorded.
describe('startBgpEngine', () => {
  it('applies nothing until the cache is ready, then only the difference from what FRR holds of ours', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'drawbridge-engine-'));
    const seen: string[] = [];
    const running = new Map([
      ['bgpd', frrCommandsAsRunning()],
      ['bfdd', ''],
    ]);
    const servers = ['bgpd', 'bfdd'].map((daemon) =>
      createServer((socket) => {
        let pending = '';
        socket.on('data', (chunk) => {
          pending += chunk.toString();
          const lines = pending.split('\0');
          pending = lines.pop()!;
          for (const line of lines) {
            const output = line === 'show running-config' ? running.get(daemon)! : line.endsWith(' json') ? '{}' : '';
            if (!line.startsWith('show') && line !== 'enable') seen.push(line);
            socket.write(Buffer.concat([Buffer.from(output), Buffer.from([0, 0, 0, 0])]));
          }
        });
      }).listen(join(dir, `${daemon}.vty`)),
    );
    let ready = false;
    const engine = startBgpEngine({ socketDir: dir, log: pino({ level: 'silent' }), ready: () => ready });
    try {
      engine.set(wanted);
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(seen.length, 0, 'nothing applied before the cache is ready');
      ready = true;
      engine.set(wanted);
      await engine.settled();
      // 10.0.0.1 was there whole: untouched. 10.0.0.2 is new: created shut down, opened last.
      assert.ok(!seen.some((line) => line.includes('10.0.0.1 ')));
      assert.equal(seen.filter((line) => line === 'neighbor 10.0.0.2 shutdown').length, 1);
      assert.equal(seen.at(-3), 'no neighbor 10.0.0.2 shutdown');
    } finally {
      engine.stop();
      for (const server of servers) server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** bgpd's running configuration holding `wanted`'s first neighbor only, with BFD off (as gated). */
function frrCommandsAsRunning(): string {
  return [
    'router bgp 64512',
    ' neighbor 10.0.0.1 remote-as 64500',
    ' neighbor 10.0.0.1 timers 30 90',
    ' address-family ipv4 unicast',
    '  neighbor 10.0.0.1 activate',
    '  neighbor 10.0.0.1 prefix-list drawbridge-out-10.0.0.1 out',
    ' exit-address-family',
    'exit',
    'ip prefix-list drawbridge-out-10.0.0.1 seq 1 deny 0.0.0.0/32',
  ].join('\n');
}
