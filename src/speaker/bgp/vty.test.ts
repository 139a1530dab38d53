import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Vty, vtyOk } from './vty.ts';

// A stand-in daemon on a unix socket speaking FRR's vty framing: each NUL-terminated command is answered with its
// output, three NULs and a status byte, sent in pieces so that answers straddle reads.
describe('Vty', () => {
  let dir = '';
  let server: Server;
  const seen: string[] = [];
  const answer = (socket: Socket, command: string) => {
    seen.push(command);
    if (command === 'bogus')
      return Buffer.concat([Buffer.from('% Unknown command: bogus\n'), Buffer.from([0, 0, 0, 2])]);
    if (command === 'show json') return Buffer.concat([Buffer.from('{"a":1}'), Buffer.from([0, 0, 0, 0])]);
    if (command === 'hang up') socket.destroy();
    return Buffer.from([0, 0, 0, 0]);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drawbridge-vty-'));
    server = createServer((socket) => {
      let pending = '';
      socket.on('data', (chunk) => {
        pending += chunk.toString();
        const commands = pending.split('\0');
        pending = commands.pop()!;
        const out = Buffer.concat(commands.map((c) => answer(socket, c)));
        // One byte at a time: the client must reassemble.
        for (let i = 0; i < out.length; i++) socket.write(out.subarray(i, i + 1));
      });
    });
    await new Promise<void>((resolve) => server.listen(join(dir, 'bgpd.vty'), resolve));
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('enters enable, answers commands in order with their status and output, parses JSON', async () => {
    const vty = await Vty.connect(join(dir, 'bgpd.vty'));
    const [ok, bad, json] = await Promise.all([vty.run('configure terminal'), vty.run('bogus'), vty.json('show json')]);
    assert.deepEqual(ok, { status: 0, output: '' });
    assert.equal(vtyOk(ok), true);
    assert.deepEqual(bad, { status: 2, output: '% Unknown command: bogus\n' });
    assert.equal(vtyOk(bad), false);
    assert.deepEqual(json, { a: 1 });
    assert.deepEqual(seen.slice(0, 4), ['enable', 'configure terminal', 'bogus', 'show json']);
    vty.close();
  });

  it('rejects what is pending when the daemon goes away, and reports itself closed', async () => {
    const vty = await Vty.connect(join(dir, 'bgpd.vty'));
    await assert.rejects(vty.run('hang up'));
    assert.equal(vty.closed, true);
    await assert.rejects(vty.run('configure terminal'));
  });

  it('fails to connect to a socket nobody listens on', async () => {
    await assert.rejects(Vty.connect(join(dir, 'bfdd.vty')));
  });
});
