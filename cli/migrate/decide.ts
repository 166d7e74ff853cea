/**
 * @module Phase 2 of the migration plan: decides skip, overwrite or refuse against what
 * the bucket already holds, attributes copies to home owners, and checks quotas.
 */
import { inShard, type Shard } from "./shard.ts";
import { type PlanItem, refuse } from "./planner.ts";

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
  /**
   * Copies an earlier run journaled as verified, as {@link journalKey}s: trusted when the
   * stored eTag is no MD5 (multipart), where a resumed run could otherwise only refuse them.
   */
  verified?: Set<string>;
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

/** Key of one source version copied to one target, as journal entries record it. */
export function journalKey(
  e: { source: string; stamp: string; size: number; target: string },
): string {
  return `${e.source}\n${e.stamp}\n${e.size}\n${e.target}`;
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
    if (sameSize && e.md5 === null && ctx.verified?.has(journalKey(item))) {
      return {
        ...item,
        action: "skip" as const,
        reason: {
          code: "already_present",
          message: "Copied and verified by an earlier run (journal); the eTag is no MD5",
        },
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
