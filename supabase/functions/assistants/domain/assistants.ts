/**
 * @module The SQL of the assistant reverse mapping (`stowage.assistants`): a
 * user's one assistant, replaced atomically, and the lookup by assistant id.
 * Ownership is RLS's (own rows only); these functions run inside a
 * transaction opened by `Db.withUser` or `Db.withService`.
 */
import { AppError } from "../../_shared/app-error.ts";
import type { Tx } from "../../_shared/db.ts";

/** One mapping: an assistant id, its user and its course. */
export interface Assistant {
  assistantId: string;
  userId: string;
  courseId: string;
  createdAt: string;
  updatedAt: string;
}

/** A row of `stowage.assistants` as read. */
export interface AssistantRow {
  assistant_id: string;
  user_id: string;
  course_id: string;
  created_at: Date;
  updated_at: Date;
}

function toAssistant(row: AssistantRow): Assistant {
  return {
    assistantId: row.assistant_id,
    userId: row.user_id,
    courseId: row.course_id,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/**
 * A user's assistant (as a user, RLS shows only their own row; the service role sees every row).
 * @throws AppError not_found when the user has none
 */
export async function getMine(tx: Tx, userId: string): Promise<Assistant> {
  const rows = await tx<AssistantRow[]>`
    select assistant_id, user_id::text, course_id, created_at, updated_at
    from stowage.assistants where user_id = ${userId}`;
  if (rows.length === 0) throw new AppError("not_found", "Cannot find your assistant: none is set");
  return toAssistant(rows[0]);
}

/**
 * Makes `assistantId` the user's one assistant for `courseId`, replacing any
 * previous one, in one call of `stowage.put_assistant` (SQL decides who may write
 * what, and serialises concurrent writers; see the migration
 * `20261202510000_stowage_trusted_assistants.sql`):
 *
 * - the service role (a backend acting for `userId`) records any id; another
 *   user's id is 409 assistant_taken;
 * - a user may change the course of the id they hold, and claim a free id only
 *   when `stowage.settings.users_claim_assistants` is on; every other case is
 *   one 403 forbidden, so a refusal never tells whether an id exists.
 * @param userId the user acted for: required for the service role, null for a user (themselves)
 * @throws AppError forbidden, assistant_taken, not_found (unknown user), invalid_request
 */
export async function putMine(
  tx: Tx,
  userId: string | null,
  assistantId: string,
  courseId: string,
): Promise<Assistant> {
  const rows = await tx<AssistantRow[]>`
    select assistant_id, user_id::text, course_id, created_at, updated_at
      from stowage.put_assistant(${assistantId}, ${courseId}, ${userId}::uuid)`;
  return toAssistant(rows[0]);
}

/**
 * Removes a user's assistant (as a user, RLS lets them delete only their own).
 * @throws AppError not_found when the user has none
 */
export async function deleteMine(tx: Tx, userId: string): Promise<void> {
  const rows = await tx`delete from stowage.assistants where user_id = ${userId}
    returning assistant_id`;
  if (rows.length === 0) {
    throw new AppError("not_found", "Cannot delete your assistant: none is set");
  }
}

/**
 * One primary-key read of a mapping. Run as the service role it sees every
 * row; run as a user, RLS shows only their own, so another user's id and an
 * unknown id look the same. The statement is returned unawaited, so the
 * transaction running it is one round trip (see `Db`); {@link foundOrNotFound}
 * reads its answer.
 */
export function lookup(tx: Tx, assistantId: string): Promise<AssistantRow[]> {
  return tx<AssistantRow[]>`
    select assistant_id, user_id::text, course_id, created_at, updated_at
    from stowage.assistants where assistant_id = ${assistantId}`;
}

/**
 * The mapping a {@link lookup} found.
 * @throws AppError not_found when the id is unknown or not visible to the caller
 */
export function foundOrNotFound(rows: AssistantRow[], assistantId: string): Assistant {
  if (rows.length === 0) throw notFound(assistantId);
  return toAssistant(rows[0]);
}

/** The one answer for an id the caller may not see, or that does not exist. */
export function notFound(assistantId: string): AppError {
  return new AppError("not_found", `Cannot find assistant "${assistantId}"`);
}
