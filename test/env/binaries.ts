// Locates (building on first use) the pinned kube-apiserver and etcd binaries in the cache outside the repo.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const buildScript = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));

export interface Binaries {
  apiserver: string;
  etcd: string;
}

let cached: Promise<Binaries> | undefined;

export function controlPlaneBinaries(): Promise<Binaries> {
  cached ??= run('bash', [buildScript], { maxBuffer: 1 << 20 }).then(({ stdout }) => {
    const [apiserver, etcd] = stdout.trim().split('\n');
    if (!apiserver || !etcd) throw new Error(`build-binaries.sh printed no binary paths: ${stdout}`);
    return { apiserver, etcd };
  });
  return cached;
}
