// `drawbridge speaker`: the bare-metal announcer, one per node (DaemonSet, host network, CAP_NET_RAW). It answers
// ARP / neighbor solicitations for the addresses its node owns, as agreed with the other speakers over UDP, and with
// --frr-socket-dir announces them over BGP through the FRR running beside it (docs/bgp-engine.md).
import { networkInterfaces } from 'node:os';
import { type Command, InvalidArgumentError, Option } from 'commander';
import type { LevelWithSilent } from 'pino';
import { loadKubeClient } from '../lib/kube/api/source.ts';
import { createLogger } from '../lib/observe/logging.ts';
import { type MetricsSecurityFlags, metricsSecurity, metricsSecurityOptions } from '../lib/observe/metrics-security.ts';
import { type KeyFiles, readKeyring } from '../speaker/membership/keys.ts';
import { startSpeaker } from '../speaker/speaker.ts';

const num = (value: string): number => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError(`"${value}" is not a non-negative number`);
  return n;
};
const list = (value: string): string[] => value.split(',').filter((s) => s !== '');

interface SpeakerFlags extends MetricsSecurityFlags {
  node: string;
  interface?: string;
  kubeconfig?: string;
  bindAddress: string;
  membershipPort: number;
  peers: string[];
  probation: number;
  garpCount: number;
  garpInterval: number;
  garpRepeat: number;
  metricsBindAddress?: string;
  nodeHealthUrl: string;
  loadBalancerClass: string;
  membershipKeyFile?: string;
  membershipKeyFilePrevious?: string;
  insecureMembership?: boolean;
  frrSocketDir?: string;
  bgpOnStop: 'keep' | 'withdraw';
  bgpWithdrawTimeout: number;
  logLevel: string;
}

export function registerSpeaker(program: Command): void {
  // The controller's flags for the same thing, with the same defaults: HTTPS, /metrics for authorised callers only.
  const [metricsSecure, metricsCertDir] = metricsSecurityOptions(true);
  program
    .command('speaker')
    .description('Announce this node’s share of the bare-metal addresses (ARP / NDP), agreed with the other speakers')
    .requiredOption('--node <name>', 'this node’s name (the Kubernetes Node; in a pod: spec.nodeName)')
    .option('--interface <if>', 'interface to answer on (default: the one holding --bind-address)')
    .option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)')
    .requiredOption('--bind-address <ip>', 'this node’s LAN address: membership listens here, the others send here')
    .option('--membership-port <port>', 'UDP port of the membership protocol', num, 7947)
    .option(
      '--peers <host:port,...>',
      'members to join through (the Nodes’ InternalIPs are added from the cache)',
      list,
      [],
    )
    .option('--probation <seconds>', 'seconds in the membership before this node may announce', num, 3)
    .option('--garp-count <n>', 'gratuitous ARP / unsolicited NA rounds when taking an address over', num, 3)
    .option('--garp-interval <ms>', 'milliseconds between those rounds', num, 300)
    .option('--garp-repeat <seconds>', 'repeat one round for every held address this often (0: never)', num, 10)
    .option(
      '--node-health-url <url>',
      'this node’s kube-proxy health endpoint; failing twice in a row makes the node give its addresses up ("none": not checked)',
      'http://127.0.0.1:10256/healthz',
    )
    .option('--metrics-bind-address <host:port>', 'serve /metrics, /healthz and /readyz here (default: not served)')
    .addOption(metricsSecure)
    .addOption(metricsCertDir)
    .option(
      '--load-balancer-class <class>',
      'the class the metal controller serves (its --load-balancer-class); class-less Services it owns are announced too',
      'drawbridge.io/metal',
    )
    .option(
      '--membership-key-file <path>',
      'the key that signs and checks every membership datagram (at least 32 bytes; deploy/ mounts it from a Secret)',
    )
    .option(
      '--membership-key-file-previous <path>',
      'a second key also accepted, for rotation (docs/speaker-security.md); a missing file means none',
    )
    .option('--insecure-membership', 'run the membership without a key: anyone who can send to the port is believed')
    .option(
      '--frr-socket-dir <dir>',
      'the directory of the FRR vty sockets (bgpd.vty, bfdd.vty) to announce over BGP through (default: BGP off)',
    )
    .addOption(
      new Option(
        '--bgp-on-stop <what>',
        'at stop: keep this node’s BGP routes in FRR for the next speaker to adopt (an upgrade changes nothing at ' +
          'the routers; FRR runs apart, deploy/frr/run), or withdraw them first (an FRR that stops with the speaker)',
      )
        .choices(['keep', 'withdraw'])
        .default('keep'),
    )
    .option(
      '--bgp-withdraw-timeout <ms>',
      'at stop, the longest wait before exiting: for a change to FRR being applied to finish (keep), or for the ' +
        'peers to withdraw this node’s routes (withdraw)',
      num,
      3000,
    )
    .option('--log-level <level>', 'trace, debug, info, warn, error or silent', 'info')
    .action(async (flags: SpeakerFlags) => {
      const membershipKeys = keyFiles(flags);
      const log = createLogger({ level: flags.logLevel as LevelWithSilent });
      const kubeConfig = loadKubeClient(flags.kubeconfig);
      const ifname = flags.interface ?? interfaceOf(flags.bindAddress);
      const secure = flags.metricsSecure ?? true;
      const security =
        flags.metricsBindAddress === undefined
          ? undefined
          : await metricsSecurity({ secure, certDir: flags.metricsCertDir }, kubeConfig);
      const speaker = await startSpeaker({
        node: flags.node,
        ifname,
        kubeConfig,
        bindHost: flags.bindAddress,
        port: flags.membershipPort,
        peers: flags.peers,
        probationMs: flags.probation * 1000,
        burstCount: Math.max(1, Math.floor(flags.garpCount)),
        burstIntervalMs: flags.garpInterval,
        repeatMs: flags.garpRepeat * 1000,
        metricsAddress: flags.metricsBindAddress,
        metricsSecurity: security,
        nodeHealthUrl: flags.nodeHealthUrl === 'none' ? undefined : flags.nodeHealthUrl,
        loadBalancerClass: flags.loadBalancerClass,
        membershipKeys,
        frrSocketDir: flags.frrSocketDir,
        bgpOnStop: flags.bgpOnStop,
        bgpWithdrawTimeoutMs: flags.bgpWithdrawTimeout,
        log,
      });
      if (speaker.metricsPort !== undefined) {
        log.info(
          { port: speaker.metricsPort, scheme: secure ? 'https' : 'http' },
          'serving /metrics, /healthz, /readyz',
        );
      }
      const stop = async () => {
        await speaker.stop();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
    });
}

/** The key files, or 'insecure' when asked for; anything else ends the process with one line saying why. */
function keyFiles(flags: SpeakerFlags): KeyFiles | 'insecure' {
  const refuse = (why: string): never => {
    process.stderr.write(`drawbridge speaker: ${why}\n`);
    process.exit(2);
  };
  if (flags.membershipKeyFile === undefined) {
    if (flags.insecureMembership) return 'insecure';
    refuse('no membership key: pass --membership-key-file (or --insecure-membership in a lab)');
  }
  if (flags.insecureMembership) refuse('--membership-key-file and --insecure-membership contradict each other');
  const files = { file: flags.membershipKeyFile!, alsoFile: flags.membershipKeyFilePrevious };
  try {
    readKeyring(files);
  } catch (error) {
    refuse((error as Error).message);
  }
  return files;
}

function interfaceOf(address: string): string {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (addrs?.some((a) => a.address === address)) return name;
  }
  throw new InvalidArgumentError(`no interface holds ${address}; pass --interface`);
}
