// The soak's view of the LAN: tcpdump on the bridge, read line by line (nothing kept but counters and the last
// claimer of each address). A move is an address claimed (a reply, or a gratuitous request or reply) by another MAC
// than the one that claimed it last; a double answer is one request of the client answered by two MACs.
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

export interface Move {
  at: number;
  ip: string;
  from: string;
  to: string;
}

export class LanWatch {
  readonly moves: Move[] = [];
  readonly doubles: string[] = [];
  private readonly holder = new Map<string, string>();
  /** Per address, the MACs that answered the client's latest request. */
  private readonly answered = new Map<string, Set<string>>();
  private tcpdump: ChildProcess | undefined;

  private readonly lanNs: string;
  private readonly clientIp: string;

  constructor(lanNs: string, clientIp: string) {
    this.lanNs = lanNs;
    this.clientIp = clientIp;
  }

  async start(): Promise<void> {
    const tcpdump = spawn('ip', ['netns', 'exec', this.lanNs, 'tcpdump', '-i', 'br0', '-nn', '-e', '-l', 'arp'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.tcpdump = tcpdump;
    createInterface({ input: tcpdump.stdout! }).on('line', (line) => this.frame(line));
    await new Promise<void>((resolve, reject) => {
      tcpdump.once('exit', (code) => reject(new Error(`tcpdump exited (${code})`)));
      tcpdump.stderr!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('listening on')) resolve();
      });
    });
    tcpdump.removeAllListeners('exit');
  }

  /** The address was released (its Service deleted): its next claim is a new holder, not a move. */
  forget(ip: string): void {
    this.holder.delete(ip);
    this.answered.delete(ip);
  }

  holderOf(ip: string): string | undefined {
    return this.holder.get(ip);
  }

  private frame(line: string): void {
    const source = line.split(' ')[1]?.toLowerCase() ?? '';
    const request = /Request who-has (\S+) (?:\([0-9a-f:]+\) )?tell (\S+),/.exec(line);
    if (request !== null) {
      const [, target, sender] = request;
      if (sender === this.clientIp) this.answered.set(target!, new Set());
      else if (sender === target) this.claim(target!, source);
      return;
    }
    const reply = /Reply (\S+) is-at ([0-9a-f:]+),/.exec(line);
    if (reply === null) return;
    const ip = reply[1]!;
    this.claim(ip, source);
    const macs = this.answered.get(ip);
    if (macs === undefined || line.includes('> ff:ff:ff:ff:ff:ff')) return;
    macs.add(source);
    if (macs.size === 2) this.doubles.push(`${new Date().toISOString()} ${ip} answered by ${[...macs].join(' and ')}`);
  }

  private claim(ip: string, mac: string): void {
    const previous = this.holder.get(ip);
    if (previous !== undefined && previous !== mac) this.moves.push({ at: Date.now(), ip, from: previous, to: mac });
    this.holder.set(ip, mac);
  }

  async stop(): Promise<void> {
    const tcpdump = this.tcpdump;
    if (tcpdump === undefined || tcpdump.exitCode !== null) return;
    const stopped = new Promise((resolve) => tcpdump.once('exit', resolve));
    tcpdump.kill('SIGTERM');
    await stopped;
  }
}
