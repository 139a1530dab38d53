// Locates (building on first use) the pinned kustomize and Helm that scripts/install-tools puts in the cache.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const installScript = fileURLToPath(new URL('../../scripts/install-tools', import.meta.url));

export interface ManifestTools {
  kustomize: string;
  helm: string;
}

let cached: Promise<ManifestTools> | undefined;

export function manifestTools(): Promise<ManifestTools> {
  cached ??= run('bash', [installScript], { maxBuffer: 1 << 20 }).then(({ stdout }) => {
    const [kustomize, helm] = stdout.trim().split('\n');
    if (!kustomize || !helm) throw new Error(`install-tools printed no tool paths: ${stdout}`);
    return { kustomize, helm };
  });
  return cached;
}

/** Runs a tool and returns its stdout (rendered YAML); its stderr is in the error when it fails. */
export async function render(binary: string, args: string[]): Promise<string> {
  const { stdout } = await run(binary, args, { maxBuffer: 16 << 20 });
  return stdout;
}
