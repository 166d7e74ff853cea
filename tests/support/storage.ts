/**
 * @module Shared setup of the storage function's integration tests: calling
 * the function over HTTP, asserting coded errors, seeding objects as rows,
 * uploading as a browser would, and an in-process function instance wired to
 * the running stack (for outage tests that point one dependency elsewhere).
 */
import assert from "node:assert/strict";
import { createStorageApp } from "../../supabase/functions/storage/app.ts";
import { createRuntime } from "../../supabase/functions/storage/context.ts";
import { loadKeys } from "../../stack/keys.ts";
import { adminSql, client, functionUrl, stack, type TestUser } from "./stack.ts";

/** The LMS bucket (`user_data/{uid}/`). */
export const LMS = "anantra-lms-store";
/** The audio app's bucket (`{uid}/`, audio only, 50 MB). */
export const AUDIO = "audiofiles";
/** CodebeGen's bucket (`{uid}/`, tarballs). */
export const CODE = "codebegen-projects";

/** Every operation the storage function serves, as `METHOD /storage/path` (OpenAPI spelling). */
export const STORAGE_OPERATIONS = [
  "DELETE /storage/folders",
  "DELETE /storage/objects",
  "DELETE /storage/uploads",
  "GET /storage/admin/users/{userId}/usage",
  "GET /storage/events",
  "GET /storage/health",
  "GET /storage/objects",
  "GET /storage/quota",
  "POST /storage/admin/purge",
  "POST /storage/admin/reconcile",
  "POST /storage/downloads",
  "POST /storage/uploads",
  "POST /storage/uploads/batch",
  "PUT /storage/admin/users/{userId}/plan",
];

/** A parsed answer of the storage function. */
export interface Answer {
  status: number;
  // deno-lint-ignore no-explicit-any
  body: any;
}

/** Something that answers requests: the deployed function over HTTP, or an in-process app. */
export type Fetcher = (path: string, init: RequestInit) => Promise<Response>;

const overHttp: Fetcher = async (path, init) =>
  await fetch(`${await functionUrl("storage")}${path}`, init);

/**
 * Calls the storage function (`path` relative to it, e.g. `/quota`) with a bearer
 * token (or an `sb_` API key, sent as `apikey`) and a JSON body, and parses the answer.
 * @example const quota = await api("GET", "/quota", user.token);
 */
export async function api(
  method: string,
  path: string,
  token: string | null,
  body?: unknown,
  fetcher: Fetcher = overHttp,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  // An API key (sb_secret_..., sb_publishable_...) goes in `apikey`, as the platform wants it.
  if (token?.startsWith("sb_")) headers.apikey = token;
  else if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetcher(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

/** Asserts a coded error answer: its status, its code, and a message. */
export function expectError(result: Answer, status: number, code: string): void {
  assert.equal(result.status, status, JSON.stringify(result.body));
  assert.equal(result.body?.error?.code, code, JSON.stringify(result.body));
  assert.equal(typeof result.body.error.message, "string");
}

/**
 * Seeds objects as rows (as a migration would leave them; the Storage server
 * tolerates missing bytes on delete, as S3 does). Keys are full object names.
 * Usage counters follow through the same triggers as for uploads.
 */
export async function seedKeys(
  bucket: string,
  keys: string[],
  size = 1,
  mimetype = "text/plain",
): Promise<void> {
  const sql = await adminSql();
  try {
    await sql`insert into storage.objects (bucket_id, name, metadata)
      select ${bucket}, k, jsonb_build_object('size', ${size}::bigint, 'mimetype', ${mimetype}::text)
        from unnest(${keys}::text[]) k`;
  } finally {
    await sql.end();
  }
}

/** Seeds home-relative paths of a user in the LMS bucket (`user_data/{uid}/...`). */
export async function seedLms(user: TestUser, paths: string[], size = 10): Promise<void> {
  await seedKeys(LMS, paths.map((p) => `user_data/${user.id}/${p}`), size);
}

/** Deletes object rows directly (another client removing objects behind the API's back). */
export async function removeKeys(bucket: string, keys: string[]): Promise<void> {
  const sql = await adminSql();
  try {
    await sql.begin(async (tx) => {
      // The baseline's protect_delete trigger refuses direct deletes unless told otherwise.
      await tx`select set_config('storage.allow_delete_query', 'true', true)`;
      await tx`delete from storage.objects
        where bucket_id = ${bucket} and name = any(${keys}::text[])`;
    });
  } finally {
    await sql.end();
  }
}

/** Uploads through the API as a browser would: reserve, then PUT to the signed URL. */
export async function upload(
  user: TestUser,
  bucket: string,
  path: string,
  data: string,
  type: string,
): Promise<void> {
  const reserved = await api("POST", "/uploads", user.token, {
    bucket,
    path,
    size: new TextEncoder().encode(data).length,
    contentType: type,
  });
  assert.equal(reserved.status, 201, JSON.stringify(reserved.body));
  const { error } = await (await client(user.token)).storage.from(bucket).uploadToSignedUrl(
    reserved.body.key,
    reserved.body.token,
    new Blob([data], { type }),
    { contentType: type },
  );
  assert.equal(error, null);
}

/**
 * A storage function instance in this process, configured like the stack's
 * (same database, keys and public URL) except for the variables overridden,
 * e.g. `{ SUPABASE_URL: "http://127.0.0.1:9" }` for an unreachable Storage server.
 * Close its pool with `end()`.
 */
export async function inProcessFunction(
  overrides: Record<string, string>,
): Promise<{ fetch: Fetcher; end: () => Promise<void> }> {
  const s = await stack();
  const keys = await loadKeys(s.keysFile);
  const runtime = createRuntime({
    SUPABASE_URL: s.url,
    PUBLIC_SUPABASE_URL: s.url,
    SUPABASE_PUBLISHABLE_KEYS: JSON.stringify({ default: s.publishableKey }),
    SUPABASE_SECRET_KEYS: JSON.stringify({ default: s.secretKey }),
    ...(s.legacyKeysEnabled
      ? { SUPABASE_ANON_KEY: s.anonKey, SUPABASE_SERVICE_ROLE_KEY: s.serviceRoleKey }
      : {}),
    SUPABASE_DB_URL: s.dbUrl,
    SUPABASE_JWKS: JSON.stringify(keys.jwks),
    ...overrides,
  });
  assert.deepEqual(runtime.problems, []);
  const app = createStorageApp(runtime);
  return {
    fetch: async (path, init) => await app.request(`/storage${path}`, init),
    end: async () => await runtime.deps?.db.end(),
  };
}
