/**
 * @module Content types of migrated objects: detection from the file extension,
 * and matching against a bucket's `allowed_mime_types` the way Storage does.
 */

const BY_EXTENSION: Record<string, string> = {
  mp3: "audio/mpeg",
  wav: "audio/wav",
  m4a: "audio/mp4",
  aac: "audio/aac",
  ogg: "audio/ogg",
  oga: "audio/ogg",
  opus: "audio/opus",
  flac: "audio/flac",
  weba: "audio/webm",
  json: "application/json",
  txt: "text/plain",
  md: "text/markdown",
  csv: "text/csv",
  html: "text/html",
  htm: "text/html",
  css: "text/css",
  js: "text/javascript",
  xml: "application/xml",
  yaml: "application/yaml",
  yml: "application/yaml",
  pdf: "application/pdf",
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
  svg: "image/svg+xml",
  mp4: "video/mp4",
  webm: "video/webm",
  zip: "application/zip",
  gz: "application/gzip",
  tgz: "application/gzip",
  tar: "application/x-tar",
  py: "text/x-python",
};

/** Types that say nothing about the content: replaced by the extension's type. */
const GENERIC = new Set(["", "application/octet-stream", "binary/octet-stream"]);

/** Equivalent spellings: when a bucket allows one of them, the allowed one is sent. */
const ALIASES: string[][] = [
  ["audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave"],
  ["audio/mpeg", "audio/mp3", "audio/mpeg3"],
  ["audio/mp4", "audio/x-m4a", "audio/m4a"],
  ["audio/flac", "audio/x-flac"],
  ["application/gzip", "application/x-gzip"],
];

/** The content type of a file name from its extension, `application/octet-stream` when unknown. */
export function mimeFromName(name: string): string {
  const base = name.slice(name.lastIndexOf("/") + 1).toLowerCase();
  const dot = base.lastIndexOf(".");
  return (dot > 0 && BY_EXTENSION[base.slice(dot + 1)]) || "application/octet-stream";
}

/** The type to use: the source's own type unless it is generic, else the extension's. */
export function chooseContentType(name: string, sourceType: string | undefined): string {
  const t = (sourceType ?? "").trim();
  return GENERIC.has(t.toLowerCase()) ? mimeFromName(name) : t;
}

/** Whether Storage accepts `type` in a bucket with these allowed types (null or empty: any). */
export function isMimeAllowed(type: string, allowed: readonly string[] | null): boolean {
  if (!allowed || allowed.length === 0) return true;
  const [main, sub] = type.toLowerCase().split(";")[0].trim().split("/");
  return allowed.some((entry) => {
    const [aMain, aSub] = entry.toLowerCase().split(";")[0].trim().split("/");
    return aMain === main && (aSub === "*" || aSub === sub);
  });
}

/**
 * Picks the type to upload with: `type` itself when allowed, else an allowed alias
 * (`audio/x-wav` for `audio/wav`), else null (the bucket refuses it).
 */
export function allowedContentType(type: string, allowed: readonly string[] | null): string | null {
  if (isMimeAllowed(type, allowed)) return type;
  const bare = type.toLowerCase().split(";")[0].trim();
  const group = ALIASES.find((g) => g.includes(bare));
  return group?.find((alias) => isMimeAllowed(alias, allowed)) ?? null;
}
