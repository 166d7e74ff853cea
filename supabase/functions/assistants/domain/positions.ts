/**
 * @module The SQL of the assistant's last position per course
 * (`stowage.assistant_positions`), always for the caller (RLS: own rows).
 */
import type { Tx } from "../../_shared/db.ts";

/** A user's last position in a course. */
export interface Position {
  courseId: string;
  lastPosition: number;
  /** When it was last saved; null when it never was (position 0). */
  updatedAt: string | null;
}

interface PositionRow {
  course_id: string;
  last_position: string;
  updated_at: Date;
}

function toPosition(row: PositionRow): Position {
  return {
    courseId: row.course_id,
    lastPosition: Number(row.last_position),
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}

/** The user's last position in the course, 0 when none was saved. */
export async function getPosition(tx: Tx, userId: string, courseId: string): Promise<Position> {
  const rows = await tx<PositionRow[]>`
    select course_id, last_position::text, updated_at from stowage.assistant_positions
    where user_id = ${userId} and course_id = ${courseId}`;
  return rows.length === 0 ? { courseId, lastPosition: 0, updatedAt: null } : toPosition(rows[0]);
}

/** Saves the user's last position in the course (insert or overwrite, one statement). */
export async function putPosition(
  tx: Tx,
  userId: string,
  courseId: string,
  lastPosition: number,
): Promise<Position> {
  const rows = await tx<PositionRow[]>`
    insert into stowage.assistant_positions (user_id, course_id, last_position)
    values (${userId}, ${courseId}, ${lastPosition})
    on conflict (user_id, course_id) do update set last_position = excluded.last_position
    returning course_id, last_position::text, updated_at`;
  return toPosition(rows[0]);
}
