/**
 * @module Progress of a run on stderr: one rewritten line on a TTY (objects, bytes,
 * rate, ETA), plain lines every few seconds otherwise.
 */
import { formatBytes } from "./format.ts";

/** Counts objects and bytes and draws them. */
export class Progress {
  readonly #tty: boolean;
  readonly #out: { writeSync(p: Uint8Array): number };
  readonly #totalObjects: number;
  readonly #totalBytes: number;
  readonly #start = performance.now();
  #objects = 0;
  #bytes = 0;
  #failed = 0;
  #last = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param totalObjects objects to copy, @param totalBytes their bytes
   * @param options `tty` forces the mode (default: whether stderr is a terminal)
   */
  constructor(
    totalObjects: number,
    totalBytes: number,
    options: { tty?: boolean; out?: { writeSync(p: Uint8Array): number } } = {},
  ) {
    this.#totalObjects = totalObjects;
    this.#totalBytes = totalBytes;
    this.#out = options.out ?? Deno.stderr;
    this.#tty = options.tty ?? Deno.stderr.isTerminal();
    this.#timer = setInterval(() => this.#draw(false), this.#tty ? 250 : 5000);
  }

  /** Bytes sent (called per chunk). */
  bytes(n: number): void {
    this.#bytes += n;
  }

  /** One object finished (`ok` false when it failed). */
  object(ok: boolean): void {
    this.#objects++;
    if (!ok) this.#failed++;
  }

  /** Draws the final line and stops the timer. */
  finish(): void {
    clearInterval(this.#timer);
    this.#draw(true);
  }

  /** The current status line. */
  line(): string {
    const secs = (performance.now() - this.#start) / 1000;
    const rate = secs > 0 ? this.#bytes / secs : 0;
    const left = Math.max(this.#totalBytes - this.#bytes, 0);
    const eta = rate > 0 ? formatDuration(left / rate) : "--:--";
    const failed = this.#failed > 0 ? `, ${this.#failed} failed` : "";
    return `objects ${this.#objects}/${this.#totalObjects}${failed}  bytes ${
      formatBytes(this.#bytes)
    }/${formatBytes(this.#totalBytes)}  ${formatBytes(rate)}/s  ETA ${eta}`;
  }

  #draw(final: boolean): void {
    const now = performance.now();
    if (!final && !this.#tty && now - this.#last < 4000) return;
    this.#last = now;
    const text = this.#tty ? `\r\x1b[2K${this.line()}${final ? "\n" : ""}` : `${this.line()}\n`;
    this.#out.writeSync(new TextEncoder().encode(text));
  }
}

/** Seconds as `m:ss` or `h:mm:ss`. */
export function formatDuration(seconds: number): string {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
