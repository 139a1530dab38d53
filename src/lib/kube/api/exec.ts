// client.authentication.k8s.io exec credential plugins (v1 and v1beta1), as kubectl runs them: the command with the
// kubeconfig's args and env added to ours, KUBERNETES_EXEC_INFO describing the request, stdout an ExecCredential
// whose status carries a token or a client certificate and key. The answer is reused until its
// expirationTimestamp (a little before, so a request never goes out with a credential about to lapse), or until
// the apiserver answers 401.
import { execFile } from 'node:child_process';
import type { CredentialSource, Credentials } from './credentials.ts';

export interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  /** "Never" | "IfAvailable" | "Always": we never attach a terminal. */
  interactiveMode?: string;
  provideClusterInfo?: boolean;
}

interface ExecCredential {
  apiVersion?: string;
  kind?: string;
  status?: {
    token?: string;
    clientCertificateData?: string;
    clientKeyData?: string;
    expirationTimestamp?: string;
  };
}

const SUPPORTED = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
/** Refresh this long before the credential expires. */
const EARLY_MS = 10_000;
const TIMEOUT_MS = 60_000;

export function execCredentials(config: ExecConfig, where: string, now: () => number = Date.now): CredentialSource {
  if (!config?.command) throw new Error(`${where}: exec.command is missing`);
  const apiVersion = config.apiVersion ?? '';
  if (!SUPPORTED.includes(apiVersion)) {
    throw new Error(`${where}: exec apiVersion "${apiVersion}" is not one of ${SUPPORTED.join(', ')}`);
  }
  if (config.interactiveMode === 'Always') {
    throw new Error(`${where}: interactiveMode Always needs a terminal, which a controller does not have`);
  }
  let cached: { value: Credentials; until: number } | undefined;
  // Concurrent requests share one run of the plugin.
  let running: Promise<Credentials> | undefined;

  const run = async (): Promise<Credentials> => {
    const env = { ...process.env };
    for (const { name, value } of config.env ?? []) env[name] = value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion,
      kind: 'ExecCredential',
      spec: { interactive: false },
    });
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(
        config.command,
        config.args ?? [],
        { env, timeout: TIMEOUT_MS, maxBuffer: 1 << 20 },
        (error, out, err) => {
          if (error)
            reject(new Error(`${where}: ${config.command} failed: ${error.message}${err ? `: ${err.trim()}` : ''}`));
          else resolve(out);
        },
      );
    });
    let credential: ExecCredential;
    try {
      credential = JSON.parse(stdout) as ExecCredential;
    } catch {
      throw new Error(`${where}: ${config.command} did not print an ExecCredential (not JSON)`);
    }
    if (credential.kind !== 'ExecCredential' || credential.apiVersion !== apiVersion) {
      throw new Error(
        `${where}: ${config.command} printed ${credential.kind} ${credential.apiVersion}, want ExecCredential ${apiVersion}`,
      );
    }
    const s = credential.status ?? {};
    if (!s.token && !(s.clientCertificateData && s.clientKeyData)) {
      throw new Error(
        `${where}: the ExecCredential has neither status.token nor clientCertificateData and clientKeyData`,
      );
    }
    const value: Credentials = {
      token: s.token || undefined,
      cert: s.clientCertificateData ? Buffer.from(s.clientCertificateData) : undefined,
      key: s.clientKeyData ? Buffer.from(s.clientKeyData) : undefined,
    };
    const expires = s.expirationTimestamp ? Date.parse(s.expirationTimestamp) : Number.POSITIVE_INFINITY;
    if (Number.isNaN(expires)) throw new Error(`${where}: bad expirationTimestamp "${s.expirationTimestamp}"`);
    cached = { value, until: expires - EARLY_MS };
    return value;
  };

  return {
    get() {
      if (cached && now() < cached.until) return Promise.resolve(cached.value);
      running ??= run().finally(() => {
        running = undefined;
      });
      return running;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
