/**
 * @module The local Storage-API server: a faithful double of supabase/storage v1.70 for
 * every route storage-js uses, as a `Request -> Response` handler the gateway serves under
 * `/storage/v1` (paths arrive stripped, as Kong strips them), with Kong's CORS answers.
 */
import { SignJWT } from "jose";
import { Tokens } from "./auth.ts";
import { type Api, Ctx } from "./context.ts";
import { Db } from "./db.ts";
import { Disk } from "./disk.ts";
import { errorResponse, ERRORS } from "./errors.ts";
import * as bucket from "./routes-bucket.ts";
import * as list from "./routes-list.ts";
import * as move from "./routes-move.ts";
import * as read from "./routes-read.ts";
import * as remove from "./routes-remove.ts";
import * as sign from "./routes-sign.ts";
import * as up from "./routes-upload.ts";
import { createTus, isTusPath } from "./tus.ts";

/** Settings of one server instance. */
export interface StorageApiOptions {
  /** Login `supabase_storage_admin` (credentials.storageDbUrl). */
  databaseUrl: string;
  /** Where object bytes live (one file per version), e.g. `.stack/storage`. */
  dataDir: string;
  /** HS256 secret: anon/service_role keys; also signs URL tokens. */
  legacyJwtSecret: string;
  /** ES256 public keys of user tokens (by `kid`). */
  jwks: { keys: JsonWebKey[] };
  /** False when the legacy keys are disabled: HS256 request tokens are refused (default true). */
  legacyKeys?: boolean;
  /** Validity of signed upload URLs (`UPLOAD_SIGNED_URL_EXPIRATION_TIME`); default 7200. */
  uploadSignedUrlExpirationSeconds?: number;
  /** Global upload limit (`UPLOAD_FILE_SIZE_LIMIT`); default 52428800000 like the CLI. */
  fileSizeLimit?: number;
}

type Handler = (ctx: Ctx) => Promise<Response>;
type Route = [methods: string, pattern: RegExp, handler: Handler];

const OBJ = "([^/]+)/(.*)";
const ROUTES: Route[] = [
  ["POST", /^\/bucket\/?$/, bucket.createBucket],
  ["GET", /^\/bucket\/?$/, bucket.listBuckets],
  ["POST", /^\/bucket\/([^/]+)\/empty\/?$/, bucket.emptyBucket],
  ["GET", /^\/bucket\/([^/]+)\/?$/, bucket.getBucket],
  ["PUT", /^\/bucket\/([^/]+)\/?$/, bucket.updateBucket],
  ["DELETE", /^\/bucket\/([^/]+)\/?$/, bucket.deleteBucket],
  ["POST", /^\/object\/move\/?$/, move.moveObject],
  ["POST", /^\/object\/copy\/?$/, move.copyObject],
  ["POST", /^\/object\/list\/([^/]+)\/?$/, list.listObjects],
  ["POST", /^\/object\/list-v2\/([^/]+)\/?$/, list.listObjectsV2],
  ["POST", /^\/object\/sign\/([^/]+)\/?$/, sign.signObjects],
  ["POST", new RegExp(`^/object/sign/${OBJ}$`), sign.signObject],
  ["GET,HEAD", new RegExp(`^/object/sign/${OBJ}$`), read.signedDownload],
  ["POST", new RegExp(`^/object/upload/sign/${OBJ}$`), up.signUploadUrl],
  ["PUT", new RegExp(`^/object/upload/sign/${OBJ}$`), up.uploadSignedObject],
  ["GET,HEAD", new RegExp(`^/object/info/authenticated/${OBJ}$`), read.info("authenticated")],
  ["GET,HEAD", new RegExp(`^/object/info/public/${OBJ}$`), read.info("public")],
  ["GET,HEAD", new RegExp(`^/object/info/${OBJ}$`), read.info("default")],
  ["GET,HEAD", new RegExp(`^/object/authenticated/${OBJ}$`), read.download("authenticated")],
  ["GET,HEAD", new RegExp(`^/object/public/${OBJ}$`), read.download("public")],
  ["DELETE", /^\/object\/([^/]+)\/?$/, remove.deleteObjects],
  ["POST", new RegExp(`^/object/${OBJ}$`), up.createObject],
  ["PUT", new RegExp(`^/object/${OBJ}$`), up.updateObject],
  ["DELETE", new RegExp(`^/object/${OBJ}$`), remove.deleteObject],
  ["GET,HEAD", new RegExp(`^/object/${OBJ}$`), read.download("default")],
];

/** Prefixes whose plugins install the storage 404 handler (`setRestNotFoundHandler`). */
const REST_PREFIX = /^\/(bucket|object|cdn|render\/image|vector)(\/|$)/;

/** Fastify's own 404 (`basic404`), answered for every path outside those prefixes. */
function fastifyNotFound(method: string, url: string): Response {
  const text = JSON.stringify({
    message: `Route ${method}:${url} not found`,
    error: "Not Found",
    statusCode: 404,
  });
  return new Response(method === "HEAD" ? null : text, {
    status: 404,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "content-length": String(new TextEncoder().encode(text).byteLength),
    },
  });
}

function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

const CORS_METHODS = "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT";

/** Kong's `cors` plugin with default settings: any origin, preflight answered at the edge. */
function preflight(req: Request): Response | null {
  if (req.method !== "OPTIONS" || !req.headers.get("access-control-request-method")) return null;
  const headers = new Headers({
    "access-control-allow-origin": "*",
    "access-control-allow-methods": CORS_METHODS,
    "content-length": "0",
  });
  const asked = req.headers.get("access-control-request-headers");
  if (asked) headers.set("access-control-allow-headers", asked);
  return new Response(null, { status: 200, headers });
}

function withCors(res: Response): Response {
  try {
    res.headers.set("access-control-allow-origin", "*");
    return res;
  } catch {
    const headers = new Headers(res.headers);
    headers.set("access-control-allow-origin", "*");
    return new Response(res.body, { status: res.status, statusText: res.statusText, headers });
  }
}

/**
 * Creates a server instance.
 * @example
 * const api = createStorageApi({ databaseUrl, dataDir, legacyJwtSecret, jwks });
 * Deno.serve({ port: 0 }, api.handler);
 * await api.close();
 */
export function createStorageApi(
  options: StorageApiOptions,
): { handler: (req: Request) => Promise<Response>; close(): Promise<void> } {
  if (!options.databaseUrl) throw new Error("createStorageApi: databaseUrl is required");
  const now = Math.floor(Date.now() / 1000);
  const serviceKey = new SignJWT({ role: "service_role" })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + 10 * 365 * 24 * 3600)
    .sign(new TextEncoder().encode(options.legacyJwtSecret));
  const db = new Db(options.databaseUrl);
  let api: Api | undefined;
  let tus: ReturnType<typeof createTus> | undefined;
  const ready = serviceKey.then((key) => {
    api = {
      db,
      disk: new Disk(options.dataDir),
      tokens: new Tokens(options.legacyJwtSecret, options.jwks, options.legacyKeys ?? true),
      serviceKey: key,
      uploadSignedUrlExpirationSeconds: options.uploadSignedUrlExpirationSeconds ?? 7200,
      fileSizeLimit: options.fileSizeLimit ?? 52428800000,
    };
    return api;
  });

  async function handler(req: Request): Promise<Response> {
    const early = preflight(req);
    if (early) return early;
    const a = api ?? await ready;
    const path = new URL(req.url).pathname;
    if (isTusPath(path)) {
      tus ??= createTus(a);
      return withCors(await tus.handle(req));
    }
    for (const [methods, pattern, fn] of ROUTES) {
      if (!methods.split(",").includes(req.method)) continue;
      const m = pattern.exec(path);
      if (!m) continue;
      const ctx = new Ctx(a, req, m.slice(1).map(decode));
      try {
        return withCors(await fn(ctx));
      } catch (e) {
        await req.body?.cancel().catch(() => {});
        return withCors(errorResponse(e, req.method));
      }
    }
    const url = new URL(req.url);
    await req.body?.cancel().catch(() => {});
    if (!REST_PREFIX.test(url.pathname)) {
      return withCors(fastifyNotFound(req.method, url.pathname + url.search));
    }
    return withCors(
      errorResponse(ERRORS.routeNotFound(req.method, url.pathname + url.search), req.method),
    );
  }

  return {
    handler,
    async close() {
      await db.close();
    },
  };
}
