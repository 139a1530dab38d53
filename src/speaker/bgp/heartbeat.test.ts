import assert from 'node:assert/strict';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLogger } from '../../lib/observe/logging.ts';
import { HEARTBEAT_FILE, startHeartbeat } from './heartbeat.ts';

test('the heartbeat file is written at once and again every interval, and no more after stop', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'heartbeat-'));
  try {
    const heartbeat = startHeartbeat(dir, createLogger({ level: 'silent' }), 50);
    await sleep(20);
    const first = (await stat(join(dir, HEARTBEAT_FILE))).mtimeMs;
    await sleep(150);
    const later = (await stat(join(dir, HEARTBEAT_FILE))).mtimeMs;
    assert.ok(later > first, `written again: ${first} then ${later}`);
    heartbeat.stop();
    await sleep(20);
    const stopped = (await stat(join(dir, HEARTBEAT_FILE))).mtimeMs;
    await sleep(150);
    assert.equal((await stat(join(dir, HEARTBEAT_FILE))).mtimeMs, stopped);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a directory it cannot write to is logged once, not once per beat', async () => {
  const lines: string[] = [];
  const log = createLogger({ level: 'warn', destination: { write: (line: string) => lines.push(line) } });
  const heartbeat = startHeartbeat('/nonexistent/frr', log, 20);
  await sleep(150);
  heartbeat.stop();
  assert.equal(lines.filter((l) => l.includes('cannot write the heartbeat')).length, 1);
});
