/**
 * @module Passwords as GoTrue stores and checks them: bcrypt (`$2a$`/`$2b$`,
 * cost 10) in `auth.users.encrypted_password`, GoTrue's strength rules.
 */
import bcrypt from "bcryptjs";
import type { AuthConfig } from "./config.ts";
import { AuthError } from "./errors.ts";

/** bcrypt's limit, which GoTrue enforces up front. */
export const MAX_PASSWORD_LENGTH = 72;
/** GoTrue's bcrypt cost. */
export const BCRYPT_COST = 10;

/** Hashes a password with bcrypt, cost 10 (`$2b$10$...`). */
export async function hashPassword(password: string): Promise<string> {
  return await bcrypt.hash(password, BCRYPT_COST);
}

/** Whether `password` matches a bcrypt hash; false for anything that is not one. */
export async function checkPassword(password: string, hash: string | null): Promise<boolean> {
  if (!hash || !/^\$2[aby]\$\d\d\$/.test(hash)) return false;
  return await bcrypt.compare(password, hash);
}

/** Byte length, as Go's `len(string)` counts it. */
function byteLength(text: string): number {
  return new TextEncoder().encode(text).length;
}

/**
 * GoTrue's `checkPasswordStrength`: too long is a `validation_failed` error;
 * too short or missing a required character set is a `weak_password` with reasons.
 * @returns the weakness (message and reasons), or undefined for a strong password
 * @throws AuthError `validation_failed` past 72 bytes
 */
export function passwordWeakness(
  password: string,
  config: AuthConfig,
): { message: string; reasons: string[] } | undefined {
  if (byteLength(password) > MAX_PASSWORD_LENGTH) {
    throw new AuthError(
      400,
      "validation_failed",
      `Password cannot be longer than ${MAX_PASSWORD_LENGTH} characters`,
    );
  }
  const messages: string[] = [];
  const reasons: string[] = [];
  if (byteLength(password) < config.minimumPasswordLength) {
    reasons.push("length");
    messages.push(`Password should be at least ${config.minimumPasswordLength} characters.`);
  }
  for (const set of config.requiredCharacters) {
    if (set && ![...set].some((c) => password.includes(c))) {
      reasons.push("characters");
      messages.push(
        `Password should contain at least one character of each: ${
          config.requiredCharacters.join(", ")
        }.`,
      );
      break;
    }
  }
  return reasons.length ? { message: messages.join(" "), reasons } : undefined;
}
