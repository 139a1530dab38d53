// One FRR daemon's vty socket (<dir>/<daemon>.vty), spoken to as vtysh speaks to it: a command is its text and a NUL;
// the daemon answers with the command's output, three NULs and a status byte (0: success, 1: warning, 2 and up: the
// command failed). Talking to the sockets directly rather than running vtysh needs no FRR in the speaker's image
// and no process per change, and gives each line its own status.
import { createConnection, type Socket } from 'node:net';

export interface VtyResult {
  status: number;
  output: string;
}

/** FRR's CMD_SUCCESS and CMD_WARNING; anything else is a failure. */
export const vtyOk = (result: VtyResult) => result.status <= 1;

export class Vty {
  private readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly waiting: Array<{ resolve: (r: VtyResult) => void; reject: (e: Error) => void }> = [];
  private error: Error | undefined;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => this.received(chunk));
    const fail = (error: Error) => {
      this.error ??= error;
      for (const w of this.waiting.splice(0)) w.reject(this.error);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('vty closed')));
  }

  /** Connects and enters the privileged mode configuration needs. */
  static async connect(path: string, timeoutMs = 2000): Promise<Vty> {
    const socket = createConnection(path);
    socket.setTimeout(timeoutMs);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.once('timeout', () => reject(new Error(`no answer from ${path}`)));
    });
    socket.setTimeout(0);
    const vty = new Vty(socket);
    await vty.run('enable');
    return vty;
  }

  /** Whether the daemon went away (a restart): its configuration went with it. */
  get closed(): boolean {
    return this.error !== undefined;
  }

  /** Sends one line and returns its result; rejects only if the socket fails. Lines are answered in order. */
  run(line: string): Promise<VtyResult> {
    if (this.error !== undefined) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.socket.write(`${line}\0`);
    });
  }

  /** A `show ... json` command's parsed output. */
  async json<T>(line: string): Promise<T> {
    const result = await this.run(line);
    if (!vtyOk(result)) throw new Error(`${line}: ${result.output.trim()}`);
    return JSON.parse(result.output || '{}') as T;
  }

  close(): void {
    this.error ??= new Error('vty closed');
    this.socket.destroy();
  }

  private received(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      const end = endOfAnswer(this.buffer);
      if (end < 0) return;
      const output = this.buffer.subarray(0, end).toString();
      const status = this.buffer[end + 3]!;
      this.buffer = this.buffer.subarray(end + 4);
      this.waiting.shift()?.resolve({ status, output });
    }
  }
}

/** Where the first answer's three NULs start (with its status byte after them), or -1 while incomplete. */
function endOfAnswer(buffer: Buffer): number {
  let from = 0;
  for (;;) {
    const at = buffer.indexOf(0, from);
    if (at < 0 || at + 3 >= buffer.length) return -1;
    if (buffer[at + 1] === 0 && buffer[at + 2] === 0) return at;
    from = at + 1;
  }
}
