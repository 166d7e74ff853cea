/**
 * @module The migration planner: pure functions that turn a source listing into
 * one decision per object (copy, rename, skip, refuse) and a quota table per user.
 *
 * Two phases, because ownership and existing objects are looked up for the target
 * keys the first phase computes: {@link mapTargets} (email mapping, key rules, bucket
 * limits, collisions), then {@link decide} (already there, overwrite, quota, shard).
 */
import { inShard, type Shard } from "./shard.ts";
import { isValidKey, keyBytes, MAX_KEY_BYTES, sanitizeKey } from "./key-rules.ts";
import { allowedContentType, chooseContentType } from "./mime.ts";

/** One object of the source, as listed. */
export interface SourceObject {
  /** Key relative to the source root (`a/b/c.mp3`), `/`-separated. */
  key: string;
  size: number;
  /** Lowercase hex MD5 of the content when the listing gives it (S3 single-part ETag). */
  md5?: string;
  /** The source's own content type, when it has one. */
  contentType?: string;
  /** Changes whenever the content may have changed (S3 ETag, file mtime): keys the checksum cache. */
  stamp: string;
}

/** What happens to one object. `rename` copies to a key that differs from the source key. */
export type Action = "copy" | "rename" | "skip" | "refuse";

/** A coded reason for a skip or refusal. */
export interface Reason {
  code: string;
  message: string;
}

/** One line of the plan. */
export interface PlanItem {
  source: string;
  size: number;
  stamp: string;
  /** Full object key in the target bucket. */
  target: string;
  action: Action;
  contentType: string;
  /**
   * False when the listing had no type and the bucket takes any: the source's own type
   * (read when the object is opened) is used then, `contentType` being the extension's.
   */
  typeFromSource?: boolean;
  /** Home owner of the target key (SQL `stowage.home_owner`), null outside any home. */
  userId: string | null;
  /** The email the key's home segment was mapped from (`--map-users`). */
  email?: string;
  /** Source MD5 when known (listing, checksum pass or journal). */
  md5?: string;
  /** True when the target already exists and will be overwritten (`--overwrite`). */
  overwrite?: boolean;
  reason?: Reason;
}

/** Bucket limits, as `storage.buckets` has them. */
export interface BucketLimits {
  id: string;
  fileSizeLimit: number | null;
  allowedMimeTypes: string[] | null;
}

/** Inputs of {@link mapTargets}. */
export interface MapContext {
  bucket: BucketLimits;
  /** Target prefix inside the bucket: `""` or ending in `/`. */
  targetPrefix: string;
  /** The bucket's home template (`user_data/{uid}/`), null for an unmanaged bucket. */
  homeTemplate: string | null;
  mapUsers: boolean;
  /** Lowercased email -> user id, for every email the listing names. */
  emails: Map<string, string>;
}

/** Where `{uid}` sits in a home template, as a segment index (`user_data/{uid}/` -> 1). */
export function homeSegmentIndex(template: string): number {
  const segments = template.split("/");
  const index = segments.indexOf("{uid}");
  if (index < 0) throw new Error(`Cannot use home template "${template}": it has no {uid} segment`);
  return index;
}

/** The email in a target key's home segment, lowercased, or null when that segment is no email. */
export function emailSegment(targetKey: string, homeTemplate: string): string | null {
  const segment = targetKey.split("/")[homeSegmentIndex(homeTemplate)];
  return segment !== undefined && segment.includes("@") ? segment.toLowerCase() : null;
}

function refuse(item: PlanItem, code: string, message: string): PlanItem {
  return { ...item, action: "refuse", reason: { code, message } };
}

/**
 * Phase 1: computes every object's target key and refuses what cannot go in:
 * unknown emails, keys past the length limit, files over the bucket's size limit,
 * types the bucket does not allow, two sources landing on one key. S3 folder
 * markers (`a/b/`, size 0) are skipped: Storage has no folders.
 */
export async function mapTargets(objects: SourceObject[], ctx: MapContext): Promise<PlanItem[]> {
  const sorted = [...objects].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const seen = new Map<string, string>();
  const items: PlanItem[] = [];
  for (const obj of sorted) {
    const base: PlanItem = {
      source: obj.key,
      size: obj.size,
      stamp: obj.stamp,
      target: ctx.targetPrefix + obj.key,
      action: "copy",
      contentType: chooseContentType(obj.key, obj.contentType),
      ...(obj.contentType === undefined && !ctx.bucket.allowedMimeTypes?.length
        ? { typeFromSource: false }
        : {}),
      userId: null,
      ...(obj.md5 ? { md5: obj.md5 } : {}),
    };
    if (obj.key.endsWith("/") && obj.size === 0) {
      items.push({
        ...base,
        action: "skip",
        reason: { code: "folder_marker", message: "Folder marker: Storage has no folders" },
      });
      continue;
    }
    let item = base;
    if (ctx.mapUsers && ctx.homeTemplate) {
      const email = emailSegment(item.target, ctx.homeTemplate);
      if (email !== null) {
        const uid = ctx.emails.get(email);
        if (uid === undefined) {
          items.push(refuse({ ...item, email }, "unknown_user", `No user with email "${email}"`));
          continue;
        }
        const segments = item.target.split("/");
        segments[homeSegmentIndex(ctx.homeTemplate)] = uid;
        item = { ...item, email, target: segments.join("/") };
      }
    }
    if (!isValidKey(item.target) && keyBytes(item.target) <= MAX_KEY_BYTES) {
      item = { ...item, target: (await sanitizeKey(item.target)).key, action: "rename" };
    }
    items.push(checkLimits(item, ctx, seen));
  }
  return items;
}

function checkLimits(item: PlanItem, ctx: MapContext, seen: Map<string, string>): PlanItem {
  if (keyBytes(item.target) > MAX_KEY_BYTES) {
    return refuse(
      item,
      "key_too_long",
      `Key is ${keyBytes(item.target)} bytes, over ${MAX_KEY_BYTES}`,
    );
  }
  const limit = ctx.bucket.fileSizeLimit;
  if (limit !== null && item.size > limit) {
    return refuse(
      item,
      "file_too_large",
      `${item.size} bytes is over the bucket limit of ${limit}`,
    );
  }
  const type = allowedContentType(item.contentType, ctx.bucket.allowedMimeTypes);
  if (type === null) {
    return refuse(
      item,
      "unsupported_media_type",
      `Bucket "${ctx.bucket.id}" does not allow "${item.contentType}"`,
    );
  }
  const first = seen.get(item.target);
  if (first !== undefined) {
    return refuse(item, "target_collision", `Source "${first}" already goes to "${item.target}"`);
  }
  seen.set(item.target, item.source);
  return { ...item, contentType: type };
}

/** An object already in the target bucket. */
export interface ExistingObject {
  size: number;
  /** Lowercase hex MD5 (Storage's eTag without quotes), null when not comparable (multipart). */
  md5: string | null;
}

/** A user's quota, as `stowage.quota(uid)` reports it. */
export interface Quota {
  plan: string;
  quotaBytes: number;
  usedBytes: number;
  reservedBytes: number;
}

/** One row of the per-user quota table. */
export interface UserQuota extends Quota {
  userId: string;
  email?: string;
  objects: number;
  incomingBytes: number;
  afterBytes: number;
  over: boolean;
}

/** Inputs of {@link decide}. */
export interface DecideContext {
  existing: Map<string, ExistingObject>;
  /** Source key -> MD5 for items whose target exists with the same size. */
  checksums: Map<string, string>;
  /** Target key -> home owner. */
  owners: Map<string, string | null>;
  /** Quota of every existing home owner; an owner without an entry does not exist (refused). */
  quotas: Map<string, Quota>;
  overwrite: boolean;
  ignoreQuota: boolean;
  shard: Shard | null;
}

/** Items of this shard whose target exists with the same size: their source MD5 decides skip. */
export function needsChecksum(
  items: PlanItem[],
  existing: Map<string, ExistingObject>,
  shard: Shard | null,
): PlanItem[] {
  return items.filter((i) => {
    if ((i.action !== "copy" && i.action !== "rename") || i.md5 || !inShard(i.source, shard)) {
      return false;
    }
    const e = existing.get(i.target);
    return e !== undefined && e.size === i.size;
  });
}

/** The decided plan. */
export interface Decision {
  /** Items of this shard, in source key order. */
  items: PlanItem[];
  users: UserQuota[];
}

/**
 * Phase 2: skips objects already there (same size and MD5), refuses or overwrites
 * ones that differ, attributes the rest to their home owner and refuses every copy of
 * a user whose quota it would pass (all of that user's copies: a half-migrated home is
 * worse than none; `--ignore-quota` copies anyway, as the service role may). Quota
 * counts every shard's objects, so each machine makes the same decision.
 */
export function decide(mapped: PlanItem[], ctx: DecideContext): Decision {
  const items = mapped.map((raw) => {
    const item: PlanItem = { ...raw, userId: ctx.owners.get(raw.target) ?? null };
    const md5 = item.md5 ?? ctx.checksums.get(item.source);
    if (md5) item.md5 = md5;
    if (item.action !== "copy" && item.action !== "rename") return item;
    if (item.userId !== null && !ctx.quotas.has(item.userId)) {
      return refuse(
        item,
        "unknown_user",
        `The home folder names user "${item.userId}", who does not exist`,
      );
    }
    const e = ctx.existing.get(item.target);
    if (e === undefined) return item;
    const sameSize = e.size === item.size;
    const outOfShard = !inShard(item.source, ctx.shard);
    if (sameSize && (outOfShard || (md5 !== undefined && e.md5 !== null && e.md5 === md5))) {
      return {
        ...item,
        action: "skip" as const,
        reason: { code: "already_present", message: "Same size and MD5 already in the bucket" },
      };
    }
    if (ctx.overwrite) return { ...item, overwrite: true };
    const why = sameSize
      ? (e.md5 === null ? "checksum not comparable" : "different MD5")
      : `${e.size} bytes there`;
    return refuse(
      item,
      "already_exists",
      `Target exists with different content (${why}); use --overwrite`,
    );
  });
  const users = quotaTable(items, ctx);
  const over = new Set(users.filter((u) => u.over).map((u) => u.userId));
  const final = items.map((item) =>
    !ctx.ignoreQuota && item.userId !== null && over.has(item.userId) &&
      (item.action === "copy" || item.action === "rename")
      ? refuse(
        item,
        "quota_exceeded",
        `User "${item.userId}" would pass the ${quotaOf(users, item.userId)} quota`,
      )
      : item
  );
  return { items: final.filter((i) => inShard(i.source, ctx.shard)), users };
}

function quotaOf(users: UserQuota[], userId: string): string {
  const u = users.find((x) => x.userId === userId);
  return u ? `${u.plan} ${u.quotaBytes}-byte` : "";
}

function quotaTable(items: PlanItem[], ctx: DecideContext): UserQuota[] {
  const rows = new Map<string, UserQuota>();
  for (const item of items) {
    if (item.userId === null) continue;
    const q = ctx.quotas.get(item.userId);
    if (q === undefined) continue;
    let row = rows.get(item.userId);
    if (!row) {
      row = { ...q, userId: item.userId, objects: 0, incomingBytes: 0, afterBytes: 0, over: false };
      rows.set(item.userId, row);
    }
    if (item.email) row.email = item.email;
    if (item.action !== "copy" && item.action !== "rename") continue;
    row.objects++;
    row.incomingBytes += item.size -
      (item.overwrite ? ctx.existing.get(item.target)?.size ?? 0 : 0);
  }
  for (const row of rows.values()) {
    row.afterBytes = row.usedBytes + row.reservedBytes + row.incomingBytes;
    row.over = row.incomingBytes > 0 && row.afterBytes > row.quotaBytes;
  }
  return [...rows.values()].sort((a, b) => (a.userId < b.userId ? -1 : 1));
}
