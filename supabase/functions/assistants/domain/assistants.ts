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

interface AssistantRow {
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
 * The caller's assistant (RLS shows only their own row).
 * @throws AppError not_found when the user has none
 */
export async function getMine(tx: Tx, userId: string): Promise<Assistant> {
  const rows = await tx<AssistantRow[]>`
    select assistant_id, user_id::text, course_id, created_at, updated_at
    from stowage.assistants where user_id = ${userId}`;
  if (rows.length === 0) throw new AppError("not_found", "Cannot find your assistant: none is set");
  return toAssistant(rows[0]);
}

/** Takes a transaction-scoped advisory lock on a key (released at commit or rollback). */
async function advisoryLock(tx: Tx, key: string): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`;
}

/**
 * Makes `assistantId` the user's one assistant for `courseId`, replacing any
 * previous one, all in the caller's transaction (a refusal rolls the removal back).
 *
 * Race-free by construction: requests of one user are serialised by a
 * transaction-scoped advisory lock (so two replacements cannot both delete and
 * then collide on the one-row-per-user index), and two users racing for one id
 * meet on its primary key: the second insert waits for the first to commit and
 * then does nothing, which is answered 409. The ids a request touches (the
 * user's current one and the new one) are locked too, always in sorted order:
 * two users swapping ids would otherwise each wait for the row the other
 * deleted, a deadlock.
 * @throws AppError assistant_taken when another user owns the id
 */
export async function putMine(
  tx: Tx,
  userId: string,
  assistantId: string,
  courseId: string,
): Promise<Assistant> {
  await advisoryLock(tx, `stowage.assistants:${userId}`);
  const current = await tx<{ assistant_id: string }[]>`
    select assistant_id from stowage.assistants where user_id = ${userId}`;
  const touched = [...new Set([assistantId, ...current.map((r) => r.assistant_id)])].sort();
  for (const id of touched) await advisoryLock(tx, `stowage.assistant-id:${id}`);
  await tx`delete from stowage.assistants
    where user_id = ${userId} and assistant_id <> ${assistantId}`;
  const updated = await tx<AssistantRow[]>`
    update stowage.assistants set course_id = ${courseId}
    where assistant_id = ${assistantId} and user_id = ${userId}
    returning assistant_id, user_id::text, course_id, created_at, updated_at`;
  if (updated.length > 0) return toAssistant(updated[0]);
  const inserted = await tx<AssistantRow[]>`
    insert into stowage.assistants (assistant_id, user_id, course_id)
    values (${assistantId}, ${userId}, ${courseId})
    on conflict (assistant_id) do nothing
    returning assistant_id, user_id::text, course_id, created_at, updated_at`;
  if (inserted.length === 0) {
    throw new AppError(
      "assistant_taken",
      `Cannot use assistant "${assistantId}": another user owns it`,
    );
  }
  return toAssistant(inserted[0]);
}

/**
 * Removes the caller's assistant.
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
 * unknown id look the same.
 * @throws AppError not_found when the id is unknown or not visible to the caller
 */
export async function lookup(tx: Tx, assistantId: string): Promise<Assistant> {
  const rows = await tx<AssistantRow[]>`
    select assistant_id, user_id::text, course_id, created_at, updated_at
    from stowage.assistants where assistant_id = ${assistantId}`;
  if (rows.length === 0) throw notFound(assistantId);
  return toAssistant(rows[0]);
}

/** The one answer for an id the caller may not see, or that does not exist. */
export function notFound(assistantId: string): AppError {
  return new AppError("not_found", `Cannot find assistant "${assistantId}"`);
}
