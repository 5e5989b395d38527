/** A one-line progress report for long CLI commands, redrawn in place on a terminal. */

export interface ProgressStream {
  isTTY?: boolean;
  write(text: string): boolean;
}

/** `1234567` as `1,234,567`. */
export const formatCount = (n: number) => Math.round(n).toLocaleString('en-US');

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** Bytes in the largest unit that keeps the number at least 1 (1024-based). */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export interface ProgressOptions {
  /** Where to draw; standard error unless told. */
  stream?: ProgressStream;
  /** Whether to draw at all; by default only when the stream is a terminal. */
  enabled?: boolean;
  /** The shortest time between two redraws. */
  intervalMs?: number;
  now?: () => number;
}

/**
 * Counts things (`lines`, `profiles`) as they are done and, when the stream is a terminal, redraws
 * `label: 12,345 lines, 4,321 lines/s, 37.5%, ETA 0:42` at most every `intervalMs`. The percentage
 * and ETA come from `done`/`total` in whatever unit measures the work (bytes of a file read, rows
 * out of a count), when a total is known.
 */
export class Progress {
  private readonly stream: ProgressStream;
  /** Whether anything is drawn (by default: the stream is a terminal). */
  readonly enabled: boolean;
  private readonly intervalMs: number;
  private readonly now: () => number;
  private readonly started: number;
  private lastDraw = -Infinity;
  private drawn = false;

  constructor(
    private readonly label: string,
    private readonly unit: string,
    options: ProgressOptions = {},
  ) {
    this.stream = options.stream ?? process.stderr;
    this.enabled = options.enabled ?? this.stream.isTTY === true;
    this.intervalMs = options.intervalMs ?? 250;
    this.now = options.now ?? (() => performance.now());
    this.started = this.now();
  }

  /** Seconds since the start. */
  elapsed(): number {
    return (this.now() - this.started) / 1000;
  }

  /** The line as it would be drawn now. */
  line(count: number, done?: number, total?: number): string {
    const seconds = this.elapsed();
    const rate = seconds > 0 ? count / seconds : 0;
    let text = `${this.label}: ${formatCount(count)} ${this.unit}, ${formatCount(rate)} ${this.unit}/s`;
    if (done !== undefined && total !== undefined && total > 0) {
      const fraction = Math.min(1, done / total);
      text += `, ${(fraction * 100).toFixed(1)}%`;
      if (fraction > 0 && seconds > 0) text += `, ETA ${formatDuration((seconds * (1 - fraction)) / fraction)}`;
    }
    return text;
  }

  update(count: number, done?: number, total?: number): void {
    if (!this.enabled) return;
    const now = this.now();
    if (now - this.lastDraw < this.intervalMs) return;
    this.lastDraw = now;
    this.stream.write(`\r\x1b[2K${this.line(count, done, total)}`);
    this.drawn = true;
  }

  /** Clears the progress line, so that what is printed next starts on a clean line. */
  clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
    this.drawn = false;
  }
}
