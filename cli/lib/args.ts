/**
 * @module Argument helpers the operator commands (`purge`, `reconcile`) share: strict parsing
 * and the checks of whole-number and user-id options, each failure a usage error (exit 2).
 */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { usageError } from "./errors.ts";

/** A lowercase user id, as `auth.users.id` prints. */
export const USER_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * `parseArgs` in strict mode over `args` with these options.
 * @throws CliError invalid_usage naming the unknown or malformed option
 */
export function parseStrict<T extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, strict: true, options });
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The value of `--name` as a whole number from 1 to `max`, or `fallback` when not given.
 * @throws CliError invalid_usage otherwise
 */
export function wholeNumber<F extends number | null>(
  name: string,
  text: string | undefined,
  fallback: F,
  max: number,
): number | F {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!/^[0-9]+$/.test(text) || n < 1 || n > max) {
    throw usageError(`Give --${name} as a whole number from 1 to ${max} (got "${text}")`);
  }
  return n;
}

/**
 * Checks that `--name`, when given, is a user id.
 * @throws CliError invalid_usage otherwise
 */
export function checkUserId(name: string, value: string | undefined): void {
  if (value !== undefined && !USER_ID.test(value)) {
    throw usageError(`Give --${name} as a lowercase user id (UUID), got "${value}"`);
  }
}
