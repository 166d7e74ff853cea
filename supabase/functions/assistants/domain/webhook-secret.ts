/**
 * @module Checks the secret a webhook presents (`x-webhook-secret`) against
 * `ASSISTANT_WEBHOOK_SECRET`. Both are hashed first, so the comparison takes
 * the same time whatever the presented value's length or content; neither is
 * ever logged or echoed.
 */
import { constantTimeEqual } from "../../_shared/auth.ts";

/** The header a webhook handler sends the shared secret in. */
export const WEBHOOK_SECRET_HEADER = "x-webhook-secret";

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Whether the presented secret equals the configured one. False when either is
 * missing or empty (an unset secret never matches, not even an empty header).
 * @example await webhookSecretMatches(c.req.header("x-webhook-secret"), config.assistantWebhookSecret)
 */
export async function webhookSecretMatches(
  presented: string | undefined | null,
  expected: string | null,
): Promise<boolean> {
  if (!expected || !presented) return false;
  const [a, b] = await Promise.all([sha256Hex(presented), sha256Hex(expected)]);
  return constantTimeEqual(a, b);
}
