/**
 * @module The CLI's one error model: a stable snake_case code, a human message,
 * an exit status, and the cause.
 */

/** Exit statuses of the `stowage` CLI. */
export const EXIT = {
  /** Everything planned was done (or, in a dry run, planned). */
  OK: 0,
  /** The run finished but at least one object failed. */
  FAILED: 1,
  /** Bad command line. */
  USAGE: 2,
  /** Configuration, connection or source problems that stop the run before it starts. */
  SETUP: 3,
} as const;

/** A failure the CLI reports with a code and exits on. */
export class CliError extends Error {
  /** Stable snake_case code, e.g. `invalid_option`, `source_unavailable`. */
  readonly code: string;
  /** Process exit status to use. */
  readonly exitCode: number;

  /**
   * @param code stable snake_case code
   * @param message sentence-case message, values quoted
   * @param options exit status (default {@link EXIT.SETUP}) and cause
   */
  constructor(code: string, message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = "CliError";
    this.code = code;
    this.exitCode = options.exitCode ?? EXIT.SETUP;
  }
}

/** A usage error (exit status 2). */
export function usageError(message: string): CliError {
  return new CliError("invalid_usage", message, { exitCode: EXIT.USAGE });
}

/** The message of any thrown value, with its cause chain. */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause === undefined ? "" : ` (cause: ${describeError(error.cause)})`;
  return `${error.message}${cause}`;
}

/**
 * Hides the password of every `scheme://user:password@host` URL in `text` (a database
 * URL in an error message or stack) and every secret API key (`sb_secret_...`), so
 * errors can be printed and logged safely.
 */
export function redactSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s'"]*):[^@\s'"]*@/gi, "$1:***@")
    .replace(/sb_secret_[A-Za-z0-9_-]+/g, "sb_secret_***");
}
