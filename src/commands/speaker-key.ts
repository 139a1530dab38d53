// `drawbridge speaker-key`: creates the Secret holding the speakers' membership key, with a random value, unless it
// exists. Run once per install and upgrade by deploy/speaker's Job (kustomize cannot make a random value itself);
// it never changes an existing Secret, so an upgrade keeps the key and a rotation (docs/speaker-security.md) is not
// undone. Create-only is also all its RBAC allows.
import { randomBytes } from 'node:crypto';
import type { Command } from 'commander';
import { KubeApiError } from '../lib/kube/api/errors.ts';
import { loadKubeClient } from '../lib/kube/api/source.ts';

interface SpeakerKeyFlags {
  namespace: string;
  name: string;
  kubeconfig?: string;
}

export function registerSpeakerKey(program: Command): void {
  program
    .command('speaker-key')
    .description('Create the Secret with the speakers’ membership key (random) if it does not exist; never change it')
    .option('--namespace <ns>', 'namespace of the Secret', 'drawbridge-system')
    .option('--name <name>', 'name of the Secret', 'drawbridge-membership-key')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .action(async (flags: SpeakerKeyFlags) => {
      const client = loadKubeClient(flags.kubeconfig);
      const where = `${flags.namespace}/${flags.name}`;
      try {
        await client.create(`/api/v1/namespaces/${flags.namespace}/secrets`, {
          apiVersion: 'v1',
          kind: 'Secret',
          metadata: {
            name: flags.name,
            namespace: flags.namespace,
            labels: { 'app.kubernetes.io/name': 'drawbridge', 'app.kubernetes.io/component': 'speaker' },
          },
          type: 'Opaque',
          // 32 random bytes as 64 hex characters: a text file the speaker reads as its key.
          data: { key: Buffer.from(randomBytes(32).toString('hex')).toString('base64') },
        });
        process.stdout.write(`created the membership key Secret ${where}\n`);
      } catch (error) {
        if (!(error instanceof KubeApiError && error.code === 409)) throw error;
        process.stdout.write(`the membership key Secret ${where} exists; left as it is\n`);
      } finally {
        client.close();
      }
    });
}
