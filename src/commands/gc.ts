// `drawbridge gc [--dry-run]`: removes provider resources owned by this cluster whose Service no longer exists
// (the controller does the same when it starts leading; gc does it on demand, or shows it with --dry-run).
import type { Command } from 'commander';
import { identityKey } from '../contract/provider.ts';
import { addOneShotOptions, type OneShotFlags, orphansOf, withProvider } from './oneshot.ts';
import { runVerb } from './snapshot.ts';

export function registerGc(program: Command): void {
  const command = program
    .command('gc')
    .description('Remove load balancers owned by this cluster whose Service no longer exists')
    .option('--dry-run', 'only list what would be removed', false);
  addOneShotOptions(command).action((flags: OneShotFlags & { dryRun: boolean }) =>
    runVerb('gc', () =>
      withProvider(flags, async (session, snapshot, signal) => {
        const { owned, orphans } = await orphansOf(session, snapshot, signal);
        for (const identity of orphans) {
          if (!flags.dryRun) await session.provider.ensureDeleted(identity, { signal });
          const done = flags.dryRun ? 'would remove' : 'removed';
          process.stdout.write(`${done} ${identityKey(identity)} (uid ${identity.uid})\n`);
        }
        const dry = flags.dryRun ? ' (dry run)' : '';
        process.stdout.write(`${orphans.length} orphaned load balancer(s) of ${owned} owned${dry}\n`);
        return 0;
      }),
    ),
  );
}
