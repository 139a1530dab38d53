// A membership key for the speakers a test, bench or lab starts: random per run, in a file only root reads, as the
// DaemonSet mounts it from its Secret. The key's directory is removed when the process that made it exits, so runs
// leave no keys behind in the temporary directory.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made = new Set<string>();
let removeOnExit = false;

/** Writes a new random key into a new temporary directory and returns its path (for --membership-key-file). */
export function membershipKeyFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'drawbridge-key-'));
  made.add(dir);
  if (!removeOnExit) {
    removeOnExit = true;
    process.once('exit', () => {
      for (const d of made) rmSync(d, { recursive: true, force: true });
    });
  }
  const path = join(dir, 'key');
  writeFileSync(path, randomBytes(32).toString('hex'), { mode: 0o400 });
  return path;
}
