import pino, { type Logger } from 'pino';
import type { Config } from './config.js';

/**
 * JSON lines on stdout (readable text when stdout is a terminal). Writes are asynchronous: under load, lines written while an earlier write
 * is in flight go out together instead of one system call each. Call `flushLogs` before exiting.
 */
export function createLogger(config: Pick<Config, 'logLevel'>): Logger {
  const options = {
    level: config.logLevel,
    redact: { paths: ['req.headers.authorization', 'headers.authorization'], censor: '[redacted]' },
  };
  // A person at a terminal gets readable lines; everything else (files, pipes, collectors) JSON.
  if (process.stdout.isTTY) return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:standard' } } });
  return pino(options, pino.destination({ dest: 1, sync: false }));
}

export function flushLogs(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()));
}
