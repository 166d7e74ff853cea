/**
 * @module TUS 1.0.0 resumable uploads as supabase/storage v1.70.6 serves them
 * (`src/http/routes/tus/index.ts`, `lifecycle.ts`; STORAGE_API_FACTS.md §1.11): the user
 * endpoint `/upload/resumable` (a user JWT; the permission test as the caller on every request
 * but HEAD and OPTIONS) and the signed endpoint `/upload/resumable/sign` (a signed-upload token
 * in `x-signature`, verified on every request, everything as service_role). Built on the
 * library the real server uses (`@tus/server`, with `@tus/file-store`), so the protocol's
 * codes, headers and error bodies are the library's own; the Supabase parts (ids, auth, bucket
 * checks, the final write) are written here. Chunks stay on disk between requests, so an upload
 * resumes after its client restarts. The object row is written once, when the last byte lands,
 * through the same `completeWrite` as a standard upload.
 *
 * Differences from hosted, on purpose: the store is the file store (hosted uses S3), with the
 * hosted upload-URL lifetime (`TUS_URL_EXPIRY_MS`, 1 h; the CLI's file store has none); chunks
 * live in `<dataDir>/.tus` until the last byte, then move into the object's version file.
 */
import { FileStore } from "@tus/file-store";
import { Server } from "@tus/server";
import { ERRORS as TUS_ERRORS, Metadata, Upload } from "@tus/utils";
import { createHash } from "node:crypto";
import { joseMessage, type UrlTokenPayload } from "./auth.ts";
import { type Api, Ctx } from "./context.ts";
import { errorResponse, ERRORS, StorageError } from "./errors.ts";
import { completeWrite, findBucket, testPermission } from "./objects.ts";
import { mustBeAllowedMime, mustBeValidBucketName, mustBeValidKey } from "./validate.ts";

/** The public path prefix of the TUS routes (`TUS_URL_PATH` as the CLI sets it). */
export const TUS_PUBLIC_PATH = "/storage/v1/upload/resumable";
/** `TUS_URL_EXPIRY_MS`: how long an unfinished upload can be resumed. */
export const TUS_URL_EXPIRY_MS = 3_600_000;
const SIGNED_SUFFIX = "/sign";
const ROUTE = /^\/upload\/resumable(\/sign)?(\/[^/]*)?\/?$/;

/** What one TUS request carries through the library's hooks. */
interface TusRequest {
  ctx: Ctx;
  signed: boolean;
  owner?: string;
  isUpsert: boolean;
}

/** The parts of an upload id: `<bucket>/<objectName>/<version>` (the tenant is implicit). */
interface UploadId {
  bucket: string;
  objectName: string;
  version: string;
}

/** `UploadId.fromString` without the tenant part (the real id has three or more parts with it). */
function parseUploadId(id: string): UploadId {
  const parts = id.split("/");
  if (parts.length < 2) throw ERRORS.invalidUploadId();
  const [bucket, ...rest] = parts;
  const version = rest.pop();
  if (!version) throw ERRORS.invalidUploadId("Version not provided");
  const objectName = rest.join("/");
  mustBeValidBucketName(bucket);
  mustBeValidKey(objectName);
  return { bucket, objectName, version };
}

function base64url(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64url(text: string): string {
  const b64 = text.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(b64 + "=".repeat((4 - b64.length % 4) % 4));
  return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
}

function operationOf(method: string, signed: boolean): string {
  const base = method === "POST"
    ? "storage.tus.upload.create"
    : method === "PATCH" || method === "PUT"
    ? "storage.tus.upload.part"
    : method === "HEAD"
    ? "storage.tus.upload.get"
    : method === "DELETE"
    ? "storage.tus.upload.delete"
    : "storage.tus.options";
  return signed ? `${base}_signed` : base;
}

/** A storage error as the TUS routes render it: the real status, the message as plain text. */
function tusError(e: StorageError): { status_code: number; body: string } {
  return { status_code: e.statusCode, body: e.message };
}

async function md5Of(path: string): Promise<{ md5: string; size: number; mtime: Date }> {
  const hash = createHash("md5");
  let size = 0;
  const file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  const stat = await Deno.stat(path);
  return { md5: hash.digest("hex"), size, mtime: stat.mtime ?? new Date() };
}

/**
 * The file store with the real server's view of a finished upload
 * (`src/storage/protocols/tus/file-store.ts`): there the chunks are written in place, so an
 * upload's `.json` and bytes stay once it is finished, HEAD answers its full offset and DELETE
 * "Cannot terminate an already completed upload". Here the bytes move into the object's version
 * file at completion and the `.json` stays: a finished upload is read from that file (410 once
 * the object version is gone).
 */
class ObjectFileStore extends FileStore {
  constructor(
    options: { directory: string; expirationPeriodInMilliseconds: number },
    private readonly objectFile: (id: string) => string,
  ) {
    super(options);
  }

  override async getUpload(id: string): Promise<Upload> {
    try {
      return await super.getUpload(id);
    } catch (e) {
      if (e !== TUS_ERRORS.FILE_NO_LONGER_EXISTS) throw e;
      const file = await this.configstore.get(id);
      const stat = await Deno.stat(this.objectFile(id)).catch(() => undefined);
      if (!file || !stat?.isFile || stat.size !== file.size) throw e;
      return new Upload({
        id,
        size: file.size,
        offset: stat.size,
        metadata: file.metadata,
        creation_date: file.creation_date,
      });
    }
  }

  /** Removes the chunks and the `.json`; without chunks, the `.json` goes and 404 is thrown. */
  override async remove(id: string): Promise<void> {
    try {
      await Deno.remove(`${this.directory}/${id}`);
    } catch {
      await this.configstore.delete(id).catch(() => {});
      throw TUS_ERRORS.FILE_NOT_FOUND;
    }
    await this.configstore.delete(id);
  }

  /** Lapsed unfinished uploads go (counted); a lapsed finished upload's `.json` goes too. */
  override async deleteExpired(): Promise<number> {
    const now = Date.now();
    let removed = 0;
    for (const id of await this.configstore.list!()) {
      const info = await this.configstore.get(id);
      if (!info?.creation_date) continue;
      if (now <= new Date(info.creation_date).getTime() + this.getExpiration()) continue;
      const chunks = await Deno.stat(`${this.directory}/${id}`).catch(() => undefined);
      if (!chunks) {
        await this.configstore.delete(id).catch(() => {});
        continue;
      }
      if (chunks.isFile && info.size === chunks.size) continue;
      await this.remove(id).then(() => removed++, () => {});
    }
    return removed;
  }
}

/** True for the paths the TUS routes serve (`/upload/resumable[/sign][/<id>]`). */
export function isTusPath(path: string): boolean {
  return ROUTE.test(path);
}

/**
 * Creates the TUS handler of one Storage-API instance (its chunk folder, `<dataDir>/.tus`, is
 * created then: create it on the first TUS request).
 * @param api the instance's services (database, disk, tokens, limits)
 * @returns `handle(req)` to serve, `cleanUpExpired()` for lapsed uploads
 */
export function createTus(api: Api): {
  handle(req: Request): Promise<Response>;
  cleanUpExpired(): Promise<number>;
} {
  const requests = new WeakMap<Request, TusRequest>();
  const store = new ObjectFileStore({
    directory: `${api.disk.dataDir}/.tus`,
    expirationPeriodInMilliseconds: TUS_URL_EXPIRY_MS,
  }, (id) => {
    const { bucket, objectName, version } = parseUploadId(id);
    return api.disk.path(bucket, objectName, version);
  });
  const of = (req: Request): TusRequest => {
    const t = requests.get(req);
    if (!t) throw ERRORS.internal("Request object is missing");
    return t;
  };

  const server = new Server({
    path: TUS_PUBLIC_PATH,
    datastore: store,
    disableTerminationForFinishedUploads: true,
    respectForwardedHeaders: true,
    allowedHeaders: ["Authorization", "X-Upsert", "Upload-Expires", "ApiKey", "x-signature"],
    namingFunction(req, metadata) {
      if (!metadata) throw ERRORS.metadataRequired();
      of(req);
      const id = {
        bucket: metadata.bucketName || "",
        objectName: metadata.objectName || "",
        version: crypto.randomUUID(),
      };
      mustBeValidBucketName(id.bucket);
      mustBeValidKey(id.objectName);
      return `${id.bucket}/${id.objectName}/${id.version}`;
    },
    generateUrl(req, { proto, host, id }) {
      const signed = of(req).signed;
      return `${proto}://${host}${TUS_PUBLIC_PATH}${signed ? SIGNED_SUFFIX : ""}/${base64url(id)}`;
    },
    getFileIdFromRequest(req) {
      const last = /([^/]+)\/?$/.exec(new URL(req.url).pathname)?.[1];
      if (!last || TUS_PUBLIC_PATH.includes(last)) return undefined;
      try {
        return fromBase64url(last);
      } catch {
        return undefined;
      }
    },
    async maxSize(req, uploadId) {
      of(req);
      if (!uploadId) return api.fileSizeLimit;
      const { bucket } = parseUploadId(uploadId);
      const row = await findBucket(of(req).ctx, bucket);
      const limit = row.file_size_limit || api.fileSizeLimit;
      return Math.min(limit, api.fileSizeLimit);
    },
    async onIncomingRequest(req, id) {
      const t = of(req);
      const { bucket, objectName } = parseUploadId(id);
      if (t.signed) {
        const signature = req.headers.get("x-signature");
        if (!signature) throw ERRORS.invalidSignature("Missing x-signature header");
        let payload: UrlTokenPayload;
        try {
          payload = await api.tokens.verifyUrlToken(signature);
        } catch (e) {
          throw ERRORS.invalidJwt(joseMessage(e));
        }
        const scope = payload.scope ??
          (typeof payload.upsert === "boolean" ? "upload" : "download");
        if (scope !== "upload") throw ERRORS.invalidSignature("Token is not scoped for upload");
        if (payload.url !== `${bucket}/${objectName}`) throw ERRORS.invalidSignature();
        t.owner = typeof payload.owner === "string" ? payload.owner : undefined;
        t.isUpsert = payload.upsert === true;
        return;
      }
      if (req.method === "OPTIONS" || req.method === "HEAD") return;
      let contentType: string | undefined;
      let contentLength: number | undefined;
      let rawMetadata: string | null | undefined;
      if (req.method === "POST") {
        const header = req.headers.get("upload-metadata");
        if (header) {
          let parsed: Record<string, string | null> | undefined;
          try {
            parsed = Metadata.parse(header);
          } catch {
            throw ERRORS.invalidParameter("upload-metadata", "Invalid Upload-Metadata header");
          }
          contentType = parsed?.contentType ?? undefined;
          rawMetadata = parsed?.metadata;
        }
        const length = req.headers.get("upload-length");
        contentLength = length ? Number(length) : undefined;
      } else {
        const upload = await store.getUpload(id);
        contentType = upload.metadata?.contentType ?? undefined;
        contentLength = upload.size ?? undefined;
        rawMetadata = upload.metadata?.metadata;
      }
      const metadata: Record<string, unknown> = {};
      if (contentType !== undefined) metadata.mimetype = contentType;
      if (contentLength !== undefined) metadata.contentLength = contentLength;
      await testPermission(t.ctx, t.ctx.userScope(), {
        bucket,
        key: objectName,
        owner: t.owner,
        metadata,
        userMetadata: parseJson(rawMetadata),
        version: "1",
      }, t.isUpsert);
    },
    async onUploadCreate(req, upload) {
      const { bucket } = parseUploadId(upload.id);
      const row = await findBucket(of(req).ctx, bucket);
      const metadata = { ...(upload.metadata ?? {}) };
      metadata.cacheControl = /^-?\d+$/.test(metadata.cacheControl || "")
        ? `max-age=${metadata.cacheControl}`
        : "no-cache";
      if (metadata.contentType && row.allowed_mime_types) {
        mustBeAllowedMime(metadata.contentType, row.allowed_mime_types);
      }
      return { metadata };
    },
    async onUploadFinish(req, upload) {
      return await finish(of(req), upload);
    },
    onResponseError(req, e) {
      const t = requests.get(req);
      if (e instanceof StorageError) return tusError(e);
      if (t && e instanceof Error && !("status_code" in e)) {
        console.error(`storage-api tus: ${e.message}`);
      }
      return undefined;
    },
  });

  /** The last byte has landed: the bytes become the object's version file, then one upsert. */
  async function finish(t: TusRequest, upload: Upload) {
    const { bucket, objectName, version } = parseUploadId(upload.id);
    const chunkFile = `${store.directory}/${upload.id}`;
    try {
      const { md5, size, mtime } = await md5Of(chunkFile);
      await api.disk.place(chunkFile, bucket, objectName, version);
      const result = await completeWrite(t.ctx, {
        bucket,
        key: objectName,
        owner: t.owner,
        metadata: {
          eTag: `"${md5}"`,
          size,
          mimetype: upload.metadata?.contentType || "application/octet-stream",
          cacheControl: upload.metadata?.cacheControl || "no-cache",
          lastModified: mtime.toISOString(),
          contentLength: size,
          httpStatusCode: 200,
        },
        userMetadata: parseJson(upload.metadata?.metadata) ?? {},
        version,
      });
      if (result.previousVersion && result.previousVersion !== version) {
        await api.disk.remove(bucket, objectName, result.previousVersion);
      }
      return { headers: { "Tus-Complete": "1" } };
    } catch (e) {
      // The real server's ObjectAdminDelete: the new bytes go, whatever failed.
      await api.disk.remove(bucket, objectName, version).catch(() => {});
      await store.remove(upload.id).catch(() => {});
      if (e instanceof StorageError) throw Object.assign(e, tusError(e));
      throw e;
    }
  }

  return {
    async handle(req) {
      const path = new URL(req.url).pathname;
      const signed = path === "/upload/resumable/sign" ||
        path.startsWith(`/upload/resumable${SIGNED_SUFFIX}/`);
      const ctx = new Ctx(api, req, []);
      ctx.operation = operationOf(req.method, signed);
      // Fastify's jwt plugin guards every user route but OPTIONS, before the TUS server runs;
      // the routes have no header schema, so no Authorization is the empty token (jose refuses).
      if (!signed && req.method !== "OPTIONS") {
        try {
          await ctx.authenticate();
        } catch (e) {
          await req.body?.cancel().catch(() => {});
          return errorResponse(e, req.method);
        }
      }
      const t: TusRequest = {
        ctx,
        signed,
        owner: ctx.caller.sub || undefined,
        isUpsert: req.headers.get("x-upsert") === "true",
      };
      requests.set(req, t);
      return await server.handleWeb(req);
    },
    cleanUpExpired: () => server.cleanUpExpiredUploads(),
  };
}

function parseJson(text: string | null | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}
