import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger, forService } from './logging.ts';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const destination = { write: (chunk: string) => lines.push(JSON.parse(chunk)) };
  return { lines, destination };
}

test('writes one JSON object per line with level names and ISO timestamps, honouring the level', () => {
  const { lines, destination } = capture();
  const logger = createLogger({ level: 'info', destination });
  logger.debug('hidden');
  logger.info({ nodes: 3 }, 'synced');
  assert.equal(lines.length, 1);
  const [line] = lines;
  assert.equal(line?.level, 'info');
  assert.equal(line?.msg, 'synced');
  assert.equal(line?.nodes, 3);
  assert.match(String(line?.time), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
});

test('forService puts service: <key> on every line of the child', () => {
  const { lines, destination } = capture();
  const logger = forService(createLogger({ level: 'debug', destination }), 'default/web');
  logger.debug('building spec');
  logger.warn({ reason: 'AddressInUse' }, 'ensure failed');
  assert.deepEqual(
    lines.map((l) => [l.service, l.level, l.msg]),
    [
      ['default/web', 'debug', 'building spec'],
      ['default/web', 'warn', 'ensure failed'],
    ],
  );
  assert.equal(lines[1]?.reason, 'AddressInUse');
});
