// Structured logs: one JSON object per line on stdout, for the cluster's log collector.
import pino, { type DestinationStream, type LevelWithSilent, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: LevelWithSilent;
  /**
   * Human-readable output is not built in: pino-pretty is not a dependency, and the controller runs in a pod
   * whose logs are collected as JSON. Pipe the output through `npx pino-pretty` to read it locally.
   */
  pretty?: false;
  /** Where lines go; stdout when omitted. Tests pass a stream that captures them. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      // Level names ("warn") instead of numbers (40), and ISO timestamps, read the same in any log backend.
      formatters: { level: (label) => ({ level: label }) },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    // Undefined means pino's default: buffered writes to stdout, flushed when the process exits.
    options.destination,
  );
}

/** A child logger that puts `service: "<namespace>/<name>"` on every line, so one Service's story greps out. */
export function forService(logger: Logger, key: string): Logger {
  return logger.child({ service: key });
}
