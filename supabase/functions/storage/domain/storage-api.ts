/**
 * @module The Storage API as the storage function uses it, through supabase-js
 * with the caller's own JWT (RLS decides) or, for a backend acting for a user,
 * the function's service key: a secret key goes in the `apikey` header only (the
 * platform's gateway turns it into the service_role JWT; it is never sent as
 * `Bearer sb_secret_...`), a legacy service_role JWT as before. Errors are thrown as supabase-js gives them and mapped
 * by `_shared/storage-errors.ts`. URLs handed to browsers are rewritten onto
 * the public Supabase URL. Every call here is idempotent (signing, reading,
 * removing exact keys), so one the server lost to a database deadlock or
 * serialization failure (a 5xx `database error, code: 40P01`) is sent again.
 */
import { StorageClient } from "@supabase/storage-js";
import { decodeJwt } from "jose";
import type { Config } from "../../_shared/config.ts";
import { retryStorageConflicts } from "./retry.ts";

/** A signed upload as the browser needs it. */
export interface SignedUpload {
  signedUrl: string;
  token: string;
  /** When the upload token expires (the Storage server's signed-upload lifetime). */
  expiresAt: string;
}

/** One entry of a bulk download signature. */
export interface SignedDownload {
  key: string;
  signedUrl: string | null;
  error: string | null;
}

/**
 * The most keys one remove call may carry and still be one transaction on the Storage server,
 * which deletes in transactions of 500. A larger call that fails part-way has committed its
 * first transactions: sent again, it can report only what was left, and what the failed
 * attempt deleted goes uncounted.
 */
export const REMOVE_CHUNK = 500;

/** Storage-API calls of the storage function; `token` is the bearer sent. */
export interface StorageGateway {
  signUpload(token: string, bucket: string, key: string, upsert: boolean): Promise<SignedUpload>;
  signDownloads(
    token: string,
    bucket: string,
    keys: string[],
    expiresIn: number,
  ): Promise<SignedDownload[]>;
  /**
   * Removes exact keys (at most {@link REMOVE_CHUNK}, so that a conflict retried is retried
   * whole); returns the keys the server deleted.
   */
  remove(token: string, bucket: string, keys: string[]): Promise<string[]>;
  /** Checks the Storage server answers (for /health). */
  ping(): Promise<void>;
}

/**
 * Builds the gateway of one function instance.
 * @example await createStorageGateway(config).signUpload(userJwt, "audiofiles", key, false)
 */
export function createStorageGateway(
  config: Pick<Config, "supabaseUrl" | "publicSupabaseUrl" | "apiKey" | "serviceKey">,
): StorageGateway {
  // The Storage client alone, as supabase-js builds it for `client.storage`: a whole
  // supabase-js client per request also built an auth proxy, a PostgREST client and a Realtime
  // client, unused. A secret key goes as `apikey` only (the platform's gateway turns it into
  // the service_role JWT; never `Bearer sb_secret_...`); a user's or legacy JWT as the bearer
  // beside the publishable (or anon) key.
  const storageUrl = `${config.supabaseUrl.replace(/\/+$/, "")}/storage/v1`;
  const storageFor = (token: string): StorageClient =>
    new StorageClient(
      storageUrl,
      token.startsWith("sb_") ? { apikey: token, "x-client-info": "stowage-storage-function" } : {
        apikey: config.apiKey,
        Authorization: `Bearer ${token}`,
        "x-client-info": "stowage-storage-function",
      },
    );
  const publicUrl = (url: string) => toPublicUrl(url, config.supabaseUrl, config.publicSupabaseUrl);

  return {
    async signUpload(token, bucket, key, upsert) {
      const data = await retryStorageConflicts(async () => {
        const { data, error } = await storageFor(token).from(bucket)
          .createSignedUploadUrl(key, { upsert });
        if (error) throw error;
        return data;
      });
      return {
        signedUrl: publicUrl(data.signedUrl),
        token: data.token,
        expiresAt: tokenExpiry(data.token),
      };
    },
    async signDownloads(token, bucket, keys, expiresIn) {
      const data = await retryStorageConflicts(async () => {
        const { data, error } = await storageFor(token).from(bucket)
          .createSignedUrls(keys, expiresIn);
        if (error) throw error;
        return data;
      });
      return data.map((entry, index) => ({
        key: entry.path ?? keys[index],
        signedUrl: entry.error || !entry.signedUrl ? null : publicUrl(entry.signedUrl),
        error: entry.error ?? (entry.signedUrl ? null : "Object not found"),
      }));
    },
    async remove(token, bucket, keys) {
      const data = await retryStorageConflicts(async () => {
        const { data, error } = await storageFor(token).from(bucket).remove(keys);
        if (error) throw error;
        return data;
      });
      return data.map((row) => row.name);
    },
    async ping() {
      await retryStorageConflicts(async () => {
        const { error } = await storageFor(config.serviceKey).listBuckets();
        if (error) throw error;
      });
    },
  };
}

/**
 * Moves a URL the server built on the internal Supabase URL onto the public one
 * (under `functions serve` the function sees `http://kong:8000`).
 */
export function toPublicUrl(url: string, internalBase: string, publicBase: string): string {
  if (url.startsWith(internalBase)) return publicBase + url.slice(internalBase.length);
  const at = url.indexOf("/storage/v1/");
  return at >= 0 ? publicBase + url.slice(at) : url;
}

function tokenExpiry(token: string): string {
  try {
    const { exp } = decodeJwt(token);
    if (typeof exp === "number") return new Date(exp * 1000).toISOString();
  } catch {
    // A server that signs opaque tokens: fall back to the documented 2 h lifetime.
  }
  return new Date(Date.now() + 7200_000).toISOString();
}
