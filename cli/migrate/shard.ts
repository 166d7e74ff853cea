/**
 * @module `--shard i/n`: a deterministic split of source keys so n machines share one migration.
 */
import { usageError } from "../lib/errors.ts";

/** Shard `index` (0-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `i/n` (1-based i, as users count machines: `--shard 1/3` .. `3/3`). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  const i = m ? Number(m[1]) : NaN;
  const n = m ? Number(m[2]) : NaN;
  if (!m || n < 1 || i < 1 || i > n) {
    throw usageError(`Cannot use --shard "${text}": expected i/n with 1 <= i <= n, e.g. 2/4`);
  }
  return { index: i - 1, count: n };
}

/** FNV-1a 32-bit hash of the key's UTF-16 code units: stable across machines and runs. */
export function keyHash(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** Whether the source key belongs to this shard (always true without a shard). */
export function inShard(key: string, shard: Shard | null): boolean {
  return shard === null || keyHash(key) % shard.count === shard.index;
}
