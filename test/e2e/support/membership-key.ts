// A membership key for the speakers a test, bench or lab starts: random per run, in a file only root reads, as the
// DaemonSet mounts it from its Secret.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Writes a new random key into a new temporary directory and returns its path (for --membership-key-file). */
export function membershipKeyFile(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'drawbridge-key-')), 'key');
  writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o400 });
  return path;
}
