/**
 * @module The migration planner: pure functions that turn a source listing into
 * one decision per object (copy, rename, skip, refuse) and a quota table per user.
 *
 * Two phases, because ownership and existing objects are looked up for the target
 * keys the first phase computes: {@link mapTargets} here (email mapping, key rules, bucket
 * limits, collisions), then `decide` in decide.ts (already there, overwrite, quota, shard).
 */
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
  /**
   * Set when the source itself refuses the object (a symlink, a key with `..` segments):
   * the plan refuses it with this code and it is never read.
   */
  refusal?: Reason;
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
  /** Lowercased email -> user id, for every email the listing names; null when ambiguous. */
  emails: Map<string, string | null>;
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

/** The item refused with a coded reason. */
export function refuse(item: PlanItem, code: string, message: string): PlanItem {
  return { ...item, action: "refuse", reason: { code, message } };
}

/**
 * Phase 1: computes every object's target key and refuses what cannot go in:
 * what the source refused (symlinks, unsafe S3 keys: their own codes), unknown emails, keys past the length limit, files over the bucket's size limit,
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
    if (obj.refusal) {
      items.push(refuse(base, obj.refusal.code, obj.refusal.message));
      continue;
    }
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
        if (uid === null) {
          items.push(
            refuse(
              { ...item, email },
              "ambiguous_user",
              `Several users have the email "${email}" (differing in case): map this folder by hand`,
            ),
          );
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
