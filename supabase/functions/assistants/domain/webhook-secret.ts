/**
 * @module Checks the secret a webhook presents (`x-webhook-secret`) against
 * `ASSISTANT_WEBHOOK_SECRET`. Both are hashed first, so the comparison takes
 * the same time whatever the presented value's length or content; neither is
 * ever logged or echoed.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** The header a webhook handler sends the shared secret in. */
export const WEBHOOK_SECRET_HEADER = "x-webhook-secret";

/**
 * SHA-256 of a secret, synchronously: the check runs on every webhook call, and WebCrypto's
 * digest is asynchronous (a trip to a worker thread and back per call).
 */
function sha256(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/**
 * Whether the presented secret equals the configured one. False when either is
 * missing or empty (an unset secret never matches, not even an empty header).
 * @example webhookSecretMatches(c.req.header("x-webhook-secret"), config.assistantWebhookSecret)
 */
export function webhookSecretMatches(
  presented: string | undefined | null,
  expected: string | null,
): boolean {
  if (!expected || !presented) return false;
  return timingSafeEqual(sha256(presented), sha256(expected));
}
