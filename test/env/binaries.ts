// Locates (building on first use) the pinned kube-apiserver and etcd binaries in the cache outside the repo.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const buildScript = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));

export interface Binaries {
  apiserver: string;
  etcd: string;
  /** The pinned Kubernetes release the apiserver was built from and stamped with, e.g. `v1.33.13`. */
  kubernetesVersion: string;
}

let cached: Promise<Binaries> | undefined;

export function controlPlaneBinaries(): Promise<Binaries> {
  cached ??= run('bash', [buildScript], { maxBuffer: 1 << 20 }).then(({ stdout }) => {
    const [apiserver, etcd, kubernetesVersion] = stdout.trim().split('\n');
    if (!apiserver || !etcd || !kubernetesVersion) {
      throw new Error(`build-binaries.sh printed no binary paths and version: ${stdout}`);
    }
    return { apiserver, etcd, kubernetesVersion };
  });
  return cached;
}
