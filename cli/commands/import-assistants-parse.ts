/**
 * @module Parsing the LMS's old assistant files for `stowage import-assistants`: the
 * reverse mapping and one position file, each entry checked against the rules of the
 * assistants API; what fails them is reported, never loaded.
 */
import { CliError } from "../lib/errors.ts";
import { MAPPING_KEY } from "./import-assistants-layout.ts";

// The rules of the assistants function's AssistantId and CourseId schemas
// (supabase/functions/assistants/routes/schemas.ts): what the API refuses is not imported.
const ASSISTANT_ID = /^[\x21-\x7e]{1,200}$/;
// deno-lint-ignore no-control-regex
const COURSE_ID = /^[^\x00-\x1f\x7f\p{Cs}]+$/u;
/** A course id: 1-200 UTF-16 code units, no control characters or unpaired surrogates. */
const isCourseId = (s: string) => s.length >= 1 && s.length <= 200 && COURSE_ID.test(s);

/** One row the import could not load, and why. */
export interface Skipped {
  kind: "assistant" | "position";
  /** The assistant id, or the position file's key. */
  ref: string;
  /**
   * `unknown_user`, `invalid_entry`, `vanished`, `duplicate_user`, `duplicate_position`,
   * `assistant_taken`, `user_has_assistant`, `course_differs`, `position_differs`,
   * `changed_meanwhile`.
   */
  reason: string;
  detail: string;
}

/** One row read from the old files, before its owner is mapped to a user. */
export interface Row {
  kind: "assistant" | "position";
  ref: string;
  owner: string;
  courseId: string;
  assistantId?: string;
  lastPosition?: number;
}

/** Parses the mapping file into rows; invalid entries go to `unmapped`. */
export function parseMapping(text: string, unmapped: Skipped[]): Row[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CliError("source_invalid", `Cannot parse "${MAPPING_KEY}": not JSON`, {
      cause: error,
    });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CliError("source_invalid", `Cannot use "${MAPPING_KEY}": expected an object`);
  }
  const rows: Row[] = [];
  for (const [assistantId, entry] of Object.entries(value)) {
    const e = entry as { username?: unknown; course_id?: unknown } | null;
    const courseId = typeof e?.course_id === "number" ? String(e.course_id) : e?.course_id;
    const bad = !ASSISTANT_ID.test(assistantId)
      ? "assistant id must be 1-200 printable ASCII characters"
      : typeof e?.username !== "string" || e.username.trim() === ""
      ? "username is missing"
      : typeof courseId !== "string" || !isCourseId(courseId)
      ? "course_id is missing or invalid"
      : null;
    if (bad) {
      unmapped.push({ kind: "assistant", ref: assistantId, reason: "invalid_entry", detail: bad });
      continue;
    }
    rows.push({
      kind: "assistant",
      ref: assistantId,
      assistantId,
      owner: (e!.username as string).trim(),
      courseId: courseId as string,
    });
  }
  return rows;
}

/** Parses one position file; an invalid one goes to `unmapped`. */
export function parsePosition(key: string, text: string, unmapped: Skipped[]): Row | null {
  const [, owner, courseId] = key.split("/");
  let value: { last_position?: unknown } | null = null;
  try {
    value = JSON.parse(text);
  } catch { /* reported below */ }
  const n = value?.last_position;
  const bad = !isCourseId(courseId)
    ? "course folder name is not a valid course id"
    : typeof n !== "number" || !Number.isSafeInteger(n) || n < 0
    ? "last_position must be an integer >= 0"
    : null;
  if (bad) {
    unmapped.push({ kind: "position", ref: key, reason: "invalid_entry", detail: bad });
    return null;
  }
  return { kind: "position", ref: key, owner, courseId, lastPosition: n as number };
}
