// Locates (building on first use) the pinned kube-apiserver and etcd binaries in the cache outside the repo, or
// takes the caller's own: DRAWBRIDGE_KUBE_APISERVER and DRAWBRIDGE_ETCD (`drawbridge demo --kube-apiserver/--etcd`).
// Shipped in the npm package too (compiled), because `drawbridge demo` starts its control plane with it.
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const buildScript = fileURLToPath(new URL('./build-binaries.sh', import.meta.url));

export interface Binaries {
  apiserver: string;
  etcd: string;
  /** The Kubernetes release the apiserver reports, e.g. `v1.33.13` (the pinned one, when built here). */
  kubernetesVersion: string;
}

/** No usable binaries: none given, none in the cache, and they could not be built (no Go, no module proxy). */
export class BinariesUnavailableError extends Error {}

let cached: Promise<Binaries> | undefined;

export function controlPlaneBinaries(): Promise<Binaries> {
  const apiserver = process.env.DRAWBRIDGE_KUBE_APISERVER;
  const etcd = process.env.DRAWBRIDGE_ETCD;
  cached ??= apiserver || etcd ? givenBinaries(apiserver, etcd) : cachedOrBuilt();
  return cached;
}

async function givenBinaries(apiserver: string | undefined, etcd: string | undefined): Promise<Binaries> {
  if (!apiserver || !etcd) {
    throw new BinariesUnavailableError('give both kube-apiserver and etcd (--kube-apiserver and --etcd), or neither');
  }
  for (const [name, path] of [
    ['kube-apiserver', apiserver],
    ['etcd', etcd],
  ]) {
    try {
      accessSync(path as string, constants.X_OK);
    } catch {
      throw new BinariesUnavailableError(`${name} ${path} is not an executable file`);
    }
  }
  const { stdout } = await promisify(execFile)(apiserver, ['--version']);
  return { apiserver, etcd, kubernetesVersion: stdout.trim().replace(/^Kubernetes /, '') };
}

/**
 * build-binaries.sh: the cached binaries at once, or a build whose progress lines go to our stderr as it happens (it
 * takes minutes); anything else it says is the reason it failed.
 */
function cachedOrBuilt(): Promise<Binaries> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [buildScript], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const said: string[] = [];
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (/^drawbridge: building /.test(line)) process.stderr.write(`${line}\n`);
      else said.push(line.replace(/^drawbridge: /, ''));
    });
    child.on('error', reject);
    child.on('close', (code) => {
      const [apiserver, etcd, kubernetesVersion] = stdout.trim().split('\n');
      if (code === 0 && apiserver && etcd && kubernetesVersion) {
        resolve({ apiserver, etcd, kubernetesVersion });
        return;
      }
      cached = undefined; // a later call (after installing Go, say) tries again
      const reason = said.slice(-20).join('\n') || `build-binaries.sh exited ${code}`;
      reject(new BinariesUnavailableError(reason));
    });
  });
}
