// client.authentication.k8s.io exec credential plugins (v1 and v1beta1), as kubectl runs them: the command (a path
// with a slash in it relative to the kubeconfig's folder, else looked up in PATH) with the kubeconfig's args and
// env added to ours, KUBERNETES_EXEC_INFO describing the request (and the cluster, with provideClusterInfo), stdin
// empty, stdout an ExecCredential whose status carries a token or a client certificate and key. The answer is
// reused until its expirationTimestamp (a little before, so a request never goes out with a credential about to
// lapse), or until the apiserver answers 401. Never interactive: no verb attaches the plugin to a terminal, so
// interactiveMode Always is refused and IfAvailable runs as Never.
import { execFile } from 'node:child_process';
import { isAbsolute, join } from 'node:path';
import type { CredentialSource, Credentials } from './credentials.ts';

export interface ExecConfig {
  apiVersion?: string;
  command: string;
  args?: string[];
  env?: { name: string; value: string }[] | null;
  /** "Never" | "IfAvailable" | "Always": we never attach a terminal. */
  interactiveMode?: string;
  provideClusterInfo?: boolean;
  /** Shown when the command is not found. */
  installHint?: string;
}

/** client.authentication.k8s.io Cluster: what provideClusterInfo hands the plugin (undefined fields are omitted). */
export interface ExecCluster {
  server: string;
  'tls-server-name'?: string;
  'insecure-skip-tls-verify'?: boolean;
  /** Base64, as Go encodes bytes in JSON. */
  'certificate-authority-data'?: string;
  'disable-compression'?: boolean;
  /** The cluster's extension named client.authentication.k8s.io/exec. */
  config?: unknown;
}

export interface ExecOptions {
  /** The kubeconfig's folder: a relative command with a slash in it is relative to it. */
  dir?: string;
  /** Passed in KUBERNETES_EXEC_INFO when the config asks for provideClusterInfo. */
  cluster?: ExecCluster;
  now?: () => number;
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
const INTERACTIVE_MODES = ['Never', 'IfAvailable', 'Always'];

export function execCredentials(config: ExecConfig, where: string, o: ExecOptions = {}): CredentialSource {
  const now = o.now ?? Date.now;
  if (!config?.command) throw new Error(`${where}: exec.command is missing`);
  const apiVersion = config.apiVersion ?? '';
  if (!SUPPORTED.includes(apiVersion)) {
    throw new Error(`${where}: exec apiVersion "${apiVersion}" is not one of ${SUPPORTED.join(', ')}`);
  }
  const mode = config.interactiveMode;
  if (mode !== undefined && !INTERACTIVE_MODES.includes(mode)) {
    throw new Error(`${where}: interactiveMode "${mode}" is not one of ${INTERACTIVE_MODES.join(', ')}`);
  }
  if (mode === 'Always') {
    throw new Error(
      `${where}: interactiveMode Always needs a terminal, which Drawbridge never gives a plugin; use a plugin that runs with interactiveMode Never`,
    );
  }
  const command =
    o.dir !== undefined && config.command.includes('/') && !isAbsolute(config.command)
      ? join(o.dir, config.command)
      : config.command;
  let cached: { value: Credentials; until: number } | undefined;
  // Concurrent requests share one run of the plugin.
  let running: Promise<Credentials> | undefined;

  const run = async (): Promise<Credentials> => {
    const env = { ...process.env };
    for (const { name, value } of config.env ?? []) env[name] = value;
    env.KUBERNETES_EXEC_INFO = JSON.stringify({
      apiVersion,
      kind: 'ExecCredential',
      spec: { ...(config.provideClusterInfo && o.cluster ? { cluster: o.cluster } : {}), interactive: false },
    });
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = execFile(
        command,
        config.args ?? [],
        { env, timeout: TIMEOUT_MS, maxBuffer: 1 << 20 },
        (error, out, err) => {
          if (error) reject(new Error(`${where}: ${failure(command, error, err, config.installHint)}`));
          else resolve(out);
        },
      );
      // No input, as kubectl gives a non-interactive plugin: one that reads stdin sees its end, not a hang.
      child.stdin?.end();
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

/** Why the plugin failed, in one line (execFile's own message repeats the command line and all of stderr). */
function failure(
  command: string,
  error: Error & { code?: unknown; killed?: boolean; signal?: string | null },
  stderr: string,
  installHint: string | undefined,
): string {
  const oneLine = (text: string) =>
    text
      .trim()
      .replace(/\s*\n\s*/g, ' ')
      .slice(0, 500);
  if (error.code === 'ENOENT') return `${command} not found${installHint ? `: ${oneLine(installHint)}` : ''}`;
  if (error.killed && !/maxBuffer/.test(error.message)) return `${command} gave no answer in ${TIMEOUT_MS / 1000} s`;
  const how =
    typeof error.code === 'number' ? `exited with status ${error.code}` : `failed (${oneLine(error.message)})`;
  return `${command} ${how}${stderr.trim() ? `: ${oneLine(stderr)}` : ''}`;
}
