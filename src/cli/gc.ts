// `drawbridge gc [--dry-run]`: removes provider resources owned by this cluster whose Service no longer exists
// (the controller does the same when it starts leading; gc does it on demand, or shows it with --dry-run).
import type { Command } from 'commander';
import { identityKey } from '../../providers/provider.ts';
import { openProvider } from './oneshot.ts';
import { addOneShotOptions, type OneShotFlags } from './plan.ts';
import { providerConfigFrom } from './provider-flags.ts';
import { loadKubeConfigOrFail, runVerb, takeSnapshot } from './snapshot.ts';

export function registerGc(program: Command): void {
  const command = program
    .command('gc')
    .description('Remove load balancers owned by this cluster whose Service no longer exists')
    .option('--dry-run', 'only list what would be removed', false);
  addOneShotOptions(command).action((flags: OneShotFlags & { dryRun: boolean }) =>
    runVerb('gc', async () => {
      const kubeConfig = loadKubeConfigOrFail(flags.kubeconfig);
      const providerConfig = providerConfigFrom(flags.provider, flags);
      const snapshot = await takeSnapshot(kubeConfig, false);
      const abort = new AbortController();
      const session = await openProvider(
        {
          provider: flags.provider,
          providerConfig,
          clusterName: flags.clusterName,
          loadBalancerClass: flags.loadBalancerClass,
          ownClassless: Boolean(flags.ownClassless),
        },
        kubeConfig,
        snapshot,
        abort.signal,
      );
      try {
        const present = new Set(snapshot.services.map((s) => s.metadata?.uid ?? ''));
        const owned = await session.provider.listOwned({ signal: abort.signal });
        const orphans = owned.filter((identity) => identity.uid && !present.has(identity.uid));
        for (const identity of orphans) {
          if (!flags.dryRun) await session.provider.ensureDeleted(identity, { signal: abort.signal });
          process.stdout.write(
            `${flags.dryRun ? 'would remove' : 'removed'} ${identityKey(identity)} (uid ${identity.uid})\n`,
          );
        }
        process.stdout.write(
          `${orphans.length} orphaned load balancer(s) of ${owned.length} owned${flags.dryRun ? ' (dry run)' : ''}\n`,
        );
        return 0;
      } finally {
        abort.abort();
        await session.stop();
      }
    }),
  );
}
