/**
 * @module Who may read a mapping by assistant id, and as whom the read runs.
 * The voice platform's webhook handler presents the shared secret; a backend
 * presents a secret key (or the legacy service_role key); a signed-in user may read only their own
 * mapping. Everyone else gets the same 404 as an unknown id, so the route never
 * reveals which ids exist (a 401 would say "this id needs a key").
 */
import { toAppError } from "../../_shared/errors.ts";
import type { Deps } from "../context.ts";
import { type Assistant, foundOrNotFound, lookup, notFound } from "./assistants.ts";
import { webhookSecretMatches } from "./webhook-secret.ts";

/** The credentials a lookup request presents. */
export interface LookupCredentials {
  /** The `x-webhook-secret` header, if any. */
  webhookSecret: string | undefined;
  /** The request, whose `Authorization` / `apikey` headers are verified when no secret is sent. */
  request: Request;
}

/**
 * Reads the mapping of `assistantId` for whoever presents `credentials`.
 * A wrong webhook secret is not retried as a token: it is a wrong secret.
 * @throws AppError not_found for an unknown id, a wrong or missing secret, a
 *   missing or invalid token, or another user's id
 * @throws AppError misconfigured / database_unavailable when the function cannot answer at all
 */
export async function lookupFor(
  deps: Deps,
  assistantId: string,
  credentials: LookupCredentials,
): Promise<Assistant> {
  if (credentials.webhookSecret !== undefined) {
    if (!webhookSecretMatches(credentials.webhookSecret, deps.config.assistantWebhookSecret)) {
      throw notFound(assistantId);
    }
    return foundOrNotFound(await deps.db.withService((tx) => lookup(tx, assistantId)), assistantId);
  }
  let caller;
  try {
    caller = await deps.verify(credentials.request);
  } catch (error) {
    if (toAppError(error).code === "unauthorized") throw notFound(assistantId);
    throw error;
  }
  const rows = caller.kind === "service"
    ? await deps.db.withService((tx) => lookup(tx, assistantId))
    // RLS shows a user only their own row: another user's id reads as unknown.
    : await deps.db.withUser(caller.claims, (tx) => lookup(tx, assistantId));
  return foundOrNotFound(rows, assistantId);
}
