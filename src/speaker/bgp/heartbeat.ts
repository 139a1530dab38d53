// The speaker's heartbeat to FRR's start script (deploy/frr/run): a file in FRR's socket directory, written every
// second while a speaker drives FRR. FRR runs apart from the speaker and keeps what the speaker configured when the
// speaker stops, so that the next speaker adopts it with no change at the routers; when the file is older than the
// handover time (no speaker came back, or it hangs), the script stops FRR, and nothing stays announced that no speaker
// follows.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../lib/observe/logging.ts';

export const HEARTBEAT_FILE = 'speaker.alive';

export function startHeartbeat(dir: string, log: Logger, everyMs = 1000): { stop(): void } {
  let failing = false;
  const beat = () =>
    writeFile(join(dir, HEARTBEAT_FILE), '').then(
      () => {
        if (failing) log.info({ dir }, 'heartbeat for FRR written again');
        failing = false;
      },
      (error: unknown) => {
        // Logged once per failing stretch: FRR will stop after its handover time if this goes on.
        if (!failing) log.warn({ dir, error: String(error) }, 'cannot write the heartbeat FRR watches');
        failing = true;
      },
    );
  void beat();
  const timer = setInterval(() => void beat(), everyMs);
  return { stop: () => clearInterval(timer) };
}
