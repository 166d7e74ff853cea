/**
 * @module What the three backend recipes share: a backend's connection to the
 * storage function with the project's secret (service-role) key, and the
 * calls that act for a user (`userId`). Built on the typed client in
 * `clients/js` (its `call`, its types and its signed-URL PUT); the client's
 * frontend helpers that take no `userId` (`upload`, `list`, `quota`) are not
 * used here.
 *
 * A backend never sends a user's prefix: paths are relative to the user's home
 * (`user_data/<uid>/` in `anantra-lms-store`, `<uid>/` in `audiofiles` and
 * `codebegen-projects`), and the function builds every key inside that home.
 */
import { createStowage, type Stowage, StowageError } from "../../clients/js/mod.ts";
import { call, type Transport } from "../../clients/js/http.ts";
import { putToSignedUrl } from "../../clients/js/put.ts";
import type {
  BatchUploadRequest,
  BatchUploadResponse,
  ListPage,
  ListQuery,
  Quota,
} from "../../clients/js/types.ts";
import type { z } from "@hono/zod-openapi";
import type {
  EventResponse,
  EventsQuery,
  EventsResponse,
} from "../../supabase/functions/storage/routes/events.ts";

/** One upload/delete event (`GET /events`). */
export type StowageEvent = z.output<typeof EventResponse>;
/** One page of events. */
export type EventPage = z.output<typeof EventsResponse>;
/** The query of `GET /events`. */
export type EventQuery = z.input<typeof EventsQuery>;

/** Where the project is and the key the backend holds. */
export interface BackendConfig {
  /** The project URL (`https://<ref>.supabase.co`, locally `http://127.0.0.1:54321`). */
  url: string;
  /**
   * One of the project's secret keys (`sb_secret_…`, sent as `apikey`), or, while the project
   * has legacy keys, its service_role JWT (sent as `Bearer`). Backend only: never ship it to a
   * browser.
   */
  secretKey: string;
  /** A fetch to use (default the global one). */
  fetch?: typeof fetch;
}

/** A backend connected to the storage function. */
export interface Backend {
  config: BackendConfig;
  /** The typed client, authenticated with the secret key (pass `userId` in bodies). */
  stowage: Stowage;
  /** The client's transport, for calls whose helper takes no `userId`. */
  transport: Transport;
}

/**
 * Reads `SUPABASE_URL` and `SUPABASE_SECRET_KEY` (or `SUPABASE_SERVICE_ROLE_KEY`) from the
 * environment.
 * @throws Error naming the missing variable (never its value)
 */
export function configFromEnv(): BackendConfig {
  const url = Deno.env.get("SUPABASE_URL");
  const secretKey = Deno.env.get("SUPABASE_SECRET_KEY") ??
    Deno.env.get("SUPABASE_SERVICE_ROLE_KEY");
  if (!url) throw new Error("Set SUPABASE_URL (the project URL)");
  if (!secretKey) {
    throw new Error("Set SUPABASE_SECRET_KEY (or SUPABASE_SERVICE_ROLE_KEY): the secret key");
  }
  return { url, secretKey };
}

/** Connects a backend. */
export function connect(config: BackendConfig): Backend {
  const doFetch = config.fetch ?? ((input, init) => globalThis.fetch(input, init));
  const getToken = () => config.secretKey;
  return {
    config,
    stowage: createStowage({ url: config.url, getToken, fetch: doFetch }),
    transport: {
      functionsUrl: `${new URL(config.url).origin}/functions/v1`,
      getToken,
      fetch: doFetch,
    },
  };
}

/** One file a backend uploads for a user. */
export interface BackendFile {
  /** Home-relative path, e.g. `course-1/course.json`. */
  path: string;
  body: Blob;
  /** Defaults to the blob's type, else `application/octet-stream`. */
  contentType?: string;
}

/** What {@link uploadForUser} did, file by file. */
export interface UploadOutcome {
  uploaded: { path: string; key: string; size: number }[];
  failed: { path: string; error: StowageError }[];
}

/**
 * Uploads files into a user's home, counted in the user's quota: reserves up to 100 at a
 * time all or nothing (`POST /uploads/batch` with `userId`: `quota_exceeded`,
 * `file_too_large`, `unsupported_media_type`, `already_exists` throw before any byte
 * moves), then PUTs each file to its signed URL. A failed PUT cancels its reservation (so
 * its bytes stop counting at once) and is reported in `failed`; nothing falls back to
 * anywhere else.
 * @throws StowageError when a batch cannot be reserved
 */
export async function uploadForUser(
  backend: Backend,
  userId: string,
  bucket: string,
  files: BackendFile[],
  options: { upsert?: boolean; concurrency?: number } = {},
): Promise<UploadOutcome> {
  const upsert = options.upsert ?? false;
  const outcome: UploadOutcome = { uploaded: [], failed: [] };
  for (let start = 0; start < files.length; start += 100) {
    const chunk = files.slice(start, start + 100);
    const body: BatchUploadRequest = {
      bucket,
      upsert,
      userId,
      files: chunk.map((f) => ({
        path: f.path,
        size: f.body.size,
        contentType: f.contentType || f.body.type || "application/octet-stream",
      })),
    };
    const { uploads } = await call<BatchUploadResponse>(backend.transport, "storage", {
      method: "POST",
      path: "/uploads/batch",
      body,
    });
    let next = 0;
    const worker = async () => {
      while (next < chunk.length) {
        const i = next++;
        const reservation = uploads[i];
        try {
          await putToSignedUrl({
            signedUrl: reservation.signedUrl,
            body: chunk[i].body,
            contentType: reservation.contentType,
            upsert,
            fetch: backend.transport.fetch,
          });
          outcome.uploaded.push({
            path: reservation.path,
            key: reservation.key,
            size: reservation.size,
          });
        } catch (error) {
          await cancelQuietly(backend, userId, bucket, reservation.path);
          outcome.failed.push({
            path: reservation.path,
            error: error instanceof StowageError
              ? error
              : new StowageError("network_error", String(error), 0, null, error),
          });
        }
      }
    };
    const n = Math.max(1, Math.min(options.concurrency ?? 4, chunk.length));
    await Promise.all(Array.from({ length: n }, worker));
  }
  return outcome;
}

async function cancelQuietly(backend: Backend, userId: string, bucket: string, path: string) {
  try {
    await call(backend.transport, "storage", {
      method: "DELETE",
      path: "/uploads",
      body: { bucket, path, userId },
    });
  } catch {
    // The reservation lapses by itself; the PUT's error is what gets reported.
  }
}

/**
 * Every file below a folder of a user's home, page by page (`GET /objects` with
 * `recursive=true` and `userId`).
 */
export async function* listForUser(
  backend: Backend,
  userId: string,
  query: Omit<ListQuery, "userId" | "cursor">,
): AsyncGenerator<ListPage, void, undefined> {
  let cursor: string | null = null;
  do {
    const page: ListPage = await call<ListPage>(backend.transport, "storage", {
      method: "GET",
      path: "/objects",
      query: {
        bucket: query.bucket,
        prefix: query.prefix,
        recursive: query.recursive,
        limit: query.limit,
        userId,
        cursor,
      },
    });
    yield page;
    cursor = page.nextCursor;
  } while (cursor);
}

/** A user's plan, quota and usage (`GET /quota?userId=`). */
export async function quotaOf(backend: Backend, userId: string): Promise<Quota> {
  return await call<Quota>(backend.transport, "storage", {
    method: "GET",
    path: "/quota",
    query: { userId },
  });
}

/**
 * One page of events after a cursor (`GET /events?after=&limit=`; with `userId`, only that
 * user's). Answers `404 not_found` when the cursor's event was pruned (older than the
 * retention): resume from `after=0` then.
 */
export async function eventsAfter(backend: Backend, query: EventQuery): Promise<EventPage> {
  return await call<EventPage>(backend.transport, "storage", {
    method: "GET",
    path: "/events",
    query: query as Record<string, string | number | undefined>,
  });
}

export { StowageError };
