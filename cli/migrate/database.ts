/**
 * @module The CLI's SQL: bucket limits and homes, email -> user id, existing objects,
 * home owners and quotas. Connects as the project's `postgres` login (`--db-url`), never
 * as a superuser; ownership and quota rules are the SQL functions' (`stowage.home_owner`,
 * `stowage.quota`), never restated here.
 */
import postgres from "postgres";
import type { BucketLimits } from "./planner.ts";
import type { ExistingObject, Quota } from "./decide.ts";
import { CliError, EXIT } from "../lib/errors.ts";

/** Metadata of one stored object, as the Storage server wrote it. */
export interface StoredObject {
  size: number;
  /** Lowercase hex MD5 (eTag without quotes), null when the eTag is not a plain MD5. */
  md5: string | null;
  mimetype: string | null;
}

/** Turns Storage's quoted eTag into a plain MD5, or null for multipart (`"<md5>-N"`) tags. */
export function md5FromEtag(etag: string | null | undefined): string | null {
  const bare = (etag ?? "").replaceAll('"', "").toLowerCase();
  return /^[0-9a-f]{32}$/.test(bare) ? bare : null;
}

/** The project's database, as the migration needs it. */
export class MigrationDb {
  readonly #sql: postgres.Sql;

  /** @param url a postgres connection string (the `postgres` login) */
  constructor(url: string) {
    try {
      this.#sql = postgres(url, { max: 4, onnotice: () => {}, connect_timeout: 10 });
    } catch (error) {
      throw new CliError(
        "invalid_db_url",
        "Cannot read the database URL (--db-url / STOWAGE_DB_URL): expected postgres://user:password@host:port/database",
        { exitCode: EXIT.USAGE, cause: error },
      );
    }
  }

  /** Checks the connection. */
  async check(): Promise<void> {
    await this.#run("connect", () => this.#sql`select 1`);
  }

  /** The bucket's limits. @throws CliError bucket_not_found */
  async bucket(id: string): Promise<BucketLimits> {
    const rows = await this.#run(
      "read the bucket",
      () =>
        this
          .#sql`select id, file_size_limit::float8 as limit, allowed_mime_types from storage.buckets where id = ${id}`,
    );
    if (rows.length === 0) {
      throw new CliError("bucket_not_found", `Bucket "${id}" does not exist in the target project`);
    }
    return {
      id,
      fileSizeLimit: rows[0].limit ?? null,
      allowedMimeTypes: rows[0].allowed_mime_types ?? null,
    };
  }

  /** The bucket's home template (`user_data/{uid}/`), null when Stowage does not manage it. */
  async homeTemplate(bucket: string): Promise<string | null> {
    const rows = await this.#run(
      "read bucket homes",
      () => this.#sql`select home_template from stowage.bucket_homes where bucket_id = ${bucket}`,
    );
    return rows[0]?.home_template ?? null;
  }

  /**
   * Lowercased email -> user id for the given emails (case-insensitive match on auth.users).
   * `auth.users` keeps emails unique only as typed: when several users share an email up to
   * case, it maps to null (ambiguous: the plan refuses rather than guess an owner).
   */
  async usersByEmail(emails: string[]): Promise<Map<string, string | null>> {
    if (emails.length === 0) return new Map();
    const rows = await this.#run(
      "look up users",
      () =>
        this
          .#sql`select lower(email) as email, array_agg(id::text) as ids from auth.users
        where lower(email) = any(${emails}::text[]) group by lower(email)`,
    );
    return new Map(
      rows.map((r) => [r.email as string, r.ids.length === 1 ? r.ids[0] as string : null]),
    );
  }

  /** Every object below `prefix` in the bucket, with size and MD5. */
  async existing(bucket: string, prefix: string): Promise<Map<string, ExistingObject>> {
    const rows = await this.#run(
      "list existing objects",
      () =>
        this
          .#sql`select name, coalesce((metadata->>'size')::float8, 0) as size, metadata->>'eTag' as etag
        from storage.objects where bucket_id = ${bucket} and starts_with(name, ${prefix})`,
    );
    return new Map(
      rows.map((r) => [r.name as string, { size: Number(r.size), md5: md5FromEtag(r.etag) }]),
    );
  }

  /** One stored object, or null. */
  async object(bucket: string, name: string): Promise<StoredObject | null> {
    const rows = await this.#run(
      "read an object",
      () =>
        this
          .#sql`select coalesce((metadata->>'size')::float8, -1) as size, metadata->>'eTag' as etag,
        metadata->>'mimetype' as mimetype from storage.objects where bucket_id = ${bucket} and name = ${name}`,
    );
    if (rows.length === 0) return null;
    return {
      size: Number(rows[0].size),
      md5: md5FromEtag(rows[0].etag),
      mimetype: rows[0].mimetype ?? null,
    };
  }

  /** Target key -> home owner, through `stowage.home_owner` (the one ownership rule). */
  async owners(bucket: string, names: string[]): Promise<Map<string, string | null>> {
    const out = new Map<string, string | null>();
    for (let i = 0; i < names.length; i += 5000) {
      const chunk = names.slice(i, i + 5000);
      const rows = await this.#run(
        "resolve home owners",
        () =>
          this
            .#sql`select n as name, stowage.home_owner(${bucket}, n)::text as owner from unnest(${chunk}::text[]) as n`,
      );
      for (const r of rows) out.set(r.name, r.owner ?? null);
    }
    return out;
  }

  /** Each existing user's quota (`stowage.quota`); ids with no user in auth.users are left out. */
  async quotas(userIds: string[]): Promise<Map<string, Quota>> {
    const out = new Map<string, Quota>();
    const found = await this.#run(
      "look up users",
      () => this.#sql`select id::text from auth.users where id = any(${userIds}::uuid[])`,
    );
    for (const { id } of found) {
      const [q] = await this.#run(
        `read the quota of "${id}"`,
        () =>
          this
            .#sql`select plan, quota_bytes::float8 as q, used_bytes::float8 as u, reserved_bytes::float8 as r
          from stowage.quota(${id}::uuid)`,
      );
      out.set(id, { plan: q.plan, quotaBytes: q.q, usedBytes: q.u, reservedBytes: q.r });
    }
    return out;
  }

  /** Closes the pool. */
  async close(): Promise<void> {
    await this.#sql.end({ timeout: 5 });
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      throw new CliError("database_unavailable", `Cannot ${what}: ${detail}`, { cause: error });
    }
  }
}
