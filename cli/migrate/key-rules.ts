/**
 * @module Storage key rules for migrated objects, and the deterministic rename
 * of keys Storage would refuse.
 *
 * Validity is the functions' own path rule (`supabase/functions/_shared/paths.ts`): the
 * Storage key set without `?`, no empty, `.` or `..` segments, no trailing space (a URL
 * drops it), at most 900 bytes. So a migrated object is always reachable through our API.
 */
import { MAX_PATH_BYTES, pathProblem } from "../../supabase/functions/_shared/paths.ts";

/** One character we keep in a migrated key segment. */
const SAFE_CHAR = /[A-Za-z0-9_!.*'() &$=@;:+,-]/;
/** Longest key we write, in bytes (the functions' rule). */
export const MAX_KEY_BYTES = MAX_PATH_BYTES;

/** Whether Storage and our API accept `key` unchanged as a file key (the functions' path rule). */
export function isValidKey(key: string): boolean {
  return pathProblem(key, "file") === null;
}

/** Result of {@link sanitizeKey}. */
export interface SanitizedKey {
  /** The key to write. */
  key: string;
  /** True when `key` differs from the input. */
  renamed: boolean;
}

/**
 * Turns any source key into a key Storage accepts. Valid keys come back unchanged.
 * Otherwise accents are dropped (é -> e), other refused characters become `_`,
 * empty, `.` and `..` segments are removed or replaced, spaces ending the name are
 * dropped, and a short hash of the
 * original key is added before the extension so two source keys never collapse
 * into one (`Café.mp3` -> `Cafe-1a2b3c4d.mp3`). Deterministic: same input, same output.
 *
 * @example sanitizeKey("u/a#b.mp3") // { key: "u/a_b-<hash>.mp3", renamed: true }
 */
export async function sanitizeKey(key: string): Promise<SanitizedKey> {
  if (isValidKey(key)) return { key, renamed: false };
  const segments = key.split("/").filter((s) => s !== "").map((segment) => {
    const ascii = segment.normalize("NFKD").replace(/[\u0300-\u036f]/g, "");
    const cleaned = [...ascii].map((c) => (SAFE_CHAR.test(c) ? c : "_")).join("");
    if (cleaned === ".") return "_";
    if (cleaned === "..") return "__";
    return cleaned;
  });
  if (segments.length === 0) segments.push("_");
  // A trailing space would end the key (paths.ts refuses it): drop it (`a.mp3 ` -> `a.mp3`).
  const last = segments[segments.length - 1].replace(/ +$/, "") || "_";
  const dot = last.lastIndexOf(".");
  const stem = dot > 0 ? last.slice(0, dot) : last;
  const ext = dot > 0 ? last.slice(dot) : "";
  segments[segments.length - 1] = `${stem}-${(await sha256Hex(key)).slice(0, 8)}${ext}`;
  return { key: segments.join("/"), renamed: true };
}

/** Lowercase hex SHA-256 of a string's UTF-8 bytes. */
export async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Byte length of a key in UTF-8. */
export function keyBytes(key: string): number {
  return new TextEncoder().encode(key).byteLength;
}
