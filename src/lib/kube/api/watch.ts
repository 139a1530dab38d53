// The watch stream: newline-delimited JSON events, {"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR",
// "object": ...}, cut into lines as chunks arrive (a chunk may end mid-line, even mid-character).
import type { IncomingMessage } from 'node:http';
import { StringDecoder } from 'node:string_decoder';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK' | 'ERROR';

export interface WatchEvent<T = unknown> {
  type: WatchEventType;
  /** The object; for ERROR a Status (code 410 when the resourceVersion is too old). */
  object: T;
}

/** Splits a byte stream into lines; feed it chunks, it calls `onLine` with each complete, non-blank line. */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  readonly #onLine: (line: string) => void;
  #partial = '';

  constructor(onLine: (line: string) => void) {
    this.#onLine = onLine;
  }

  push(chunk: Buffer | string): void {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.write(chunk));
    let start = 0;
    for (let end = text.indexOf('\n'); end !== -1; end = text.indexOf('\n', start)) {
      const line = text.slice(start, end).trim();
      start = end + 1;
      if (line !== '') this.#onLine(line);
    }
    this.#partial = text.slice(start);
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    const line = (this.#partial + this.#decoder.end()).trim();
    this.#partial = '';
    if (line !== '') this.#onLine(line);
  }
}

/** Parses one line of a watch stream; throws on anything that is not a watch event. */
export function parseWatchEvent<T>(line: string): WatchEvent<T> {
  const event = JSON.parse(line) as Partial<WatchEvent<T>>;
  if (typeof event !== 'object' || event === null || typeof event.type !== 'string' || event.object === undefined) {
    throw new Error(`not a watch event: ${line.slice(0, 200)}`);
  }
  return event as WatchEvent<T>;
}

/** Reads a watch response to its end, calling `onEvent` for each event. Rejects on a broken stream or bad line. */
export async function readWatchStream<T>(
  response: IncomingMessage,
  onEvent: (event: WatchEvent<T>) => void,
): Promise<void> {
  const splitter = new LineSplitter((line) => onEvent(parseWatchEvent<T>(line)));
  for await (const chunk of response) splitter.push(chunk as Buffer);
  splitter.end();
}
