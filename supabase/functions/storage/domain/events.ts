/**
 * @module Reading upload and delete events in order (`stowage.events_after`):
 * a backend reads everyone's (or one user's) with the service key, a user
 * their own. The order is exact under concurrent writers (see the events
 * migration): resuming after the last id read never skips or repeats one.
 */
import type { Tx } from "../../_shared/db.ts";
import type { Actor } from "./actor.ts";

/** One change to an object in a user's home. */
export interface StorageEvent {
  /** Cursor: pass the last id read as `after` to resume. */
  id: number;
  userId: string;
  bucket: string;
  /** Home-relative path (as the HTTP API names files). */
  path: string;
  /** Full object key in the bucket. */
  key: string;
  kind: "created" | "overwritten" | "moved" | "deleted";
  size: number;
  contentType: string | null;
  /** For `moved`: where the object was (same user). */
  fromBucket: string | null;
  fromPath: string | null;
  /** The Storage server's operation, e.g. `storage.object.upload_signed`, `storage.object.copy`. */
  operation: string | null;
  createdAt: string;
}

/** One page of events. */
export interface EventPage {
  events: StorageEvent[];
  /** What to send as `after` next: the last event's id, or the `after` given. */
  next: number;
  /** True when more events were ready beyond this page. */
  hasMore: boolean;
}

/** What to read. */
export interface EventQuery {
  after: number;
  limit: number;
  /** A user's events only (service key); a user may name only themselves. */
  userId?: string | null;
}

interface Row {
  id: string | number;
  user_id: string;
  bucket_id: string;
  path: string;
  name: string;
  kind: StorageEvent["kind"];
  size: string | number;
  content_type: string | null;
  from_bucket_id: string | null;
  from_path: string | null;
  operation: string | null;
  created_at: Date;
}

/**
 * Reads the events after `after`, oldest first.
 * @throws AppError not_found (the `after` event was pruned, or is not the caller's),
 *   forbidden (a user naming another user), invalid_request
 */
export async function readEvents(run: Actor["run"], query: EventQuery): Promise<EventPage> {
  const rows = await run((tx: Tx) =>
    tx<Row[]>`
      select id, user_id, bucket_id, path, name, kind, size, content_type, from_bucket_id,
             from_path, operation, created_at
        from stowage.events_after(${query.after}, ${query.limit + 1}, ${
      query.userId ?? null
    }::uuid)`
  );
  const events = rows.slice(0, query.limit).map(toEvent);
  return {
    events,
    next: events.length ? events[events.length - 1].id : query.after,
    hasMore: rows.length > query.limit,
  };
}

function toEvent(row: Row): StorageEvent {
  return {
    id: Number(row.id),
    userId: row.user_id,
    bucket: row.bucket_id,
    path: row.path,
    key: row.name,
    kind: row.kind,
    size: Number(row.size),
    contentType: row.content_type,
    fromBucket: row.from_bucket_id,
    fromPath: row.from_path,
    operation: row.operation,
    createdAt: new Date(row.created_at).toISOString(),
  };
}
