/**
 * @module Command-line options of `stowage migrate`, parsed and checked up front.
 */
import { parseArgs } from "node:util";
import { usageError } from "../lib/errors.ts";
import { parseS3Url, parseTarget, type S3Location } from "./source.ts";
import { parseShard, type Shard } from "./shard.ts";
import { DEFAULT_RESUMABLE_ABOVE } from "./tus.ts";

/** Usage text of `stowage migrate`. */
export const MIGRATE_USAGE = `Usage: stowage migrate <source> --to <bucket[/prefix]> [options]

Copies an S3 bucket or a local directory into a Supabase Storage bucket.
Dry run by default: prints the plan (copy, rename, skip, refuse; quota per user).

Source:  s3://bucket[/prefix]   (credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)
         <directory>
Target:  SUPABASE_URL + SUPABASE_SECRET_KEY (sb_secret_...; the legacy SUPABASE_SERVICE_ROLE_KEY
         is still accepted), else the local stack's credentials
         (STOWAGE_CREDENTIALS or .stack/credentials.json)

Options:
  --to <bucket[/prefix]>   target bucket and folder (required)
  --execute                copy (default: dry run)
  --plan-out <file>        write the plan as JSON (the journal and report go beside it)
  --report-out <file>      where --execute writes its JSON report (default <plan>.report.json)
  --map-users              rewrite {email} home folders to user ids (auth.users)
  --overwrite              replace target objects whose content differs (default: refuse)
  --ignore-quota           copy even for users the copy takes over their quota
  --concurrency <n>        parallel uploads (default 8)
  --retries <n>            retries of a transient failure, with backoff (default 4)
  --verify etag|full       etag: size + MD5 of the stored object (default);
                           full: also read every copy back and compare SHA-256
  --resumable-above <size> files above this go resumably with TUS in 6 MiB chunks (an
                           interrupted file continues where it stopped, on a retry or a
                           later run of the same plan); others in one streamed request.
                           Bytes, or with KiB/MiB/GiB/KB/MB/GB; "off" for never
                           (default 6MiB)
  --delete-after           delete each local source file once its copy is verified
  --shard <i/n>            do only shard i of n (deterministic split by key)
  --db-url <url>           the project's Postgres URL (postgres login; or STOWAGE_DB_URL)
  --s3-endpoint <url>      S3-compatible endpoint (default: AWS)
  --s3-region <region>     default AWS_REGION or us-east-1
  --s3-path-style          path-style S3 URLs (most S3-compatible servers)
  --json                   print the plan/report as JSON on stdout instead of tables
`;

/** Parsed options of one `migrate` run. */
export interface MigrateOptions {
  source: { kind: "s3"; location: S3Location } | { kind: "local"; path: string };
  sourceText: string;
  bucket: string;
  targetPrefix: string;
  execute: boolean;
  planOut: string | null;
  reportOut: string | null;
  mapUsers: boolean;
  overwrite: boolean;
  ignoreQuota: boolean;
  concurrency: number;
  retries: number;
  verify: "etag" | "full";
  /** Files above this many bytes go with TUS; null: none. */
  resumableAbove: number | null;
  deleteAfter: boolean;
  shard: Shard | null;
  dbUrl: string | undefined;
  s3: { endpoint?: string; region?: string; pathStyle: boolean };
  json: boolean;
}

function intOption(
  name: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw usageError(`Cannot use --${name} "${value}": expected an integer ${min}..${max}`);
  }
  return n;
}

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  kb: 1000,
  mb: 1000 ** 2,
  gb: 1000 ** 3,
};

/** `6MiB` -> 6291456, `500kb` -> 500000, `off` -> null. @throws CliError invalid_usage */
export function parseSize(name: string, text: string): number | null {
  if (text.toLowerCase() === "off") return null;
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined) {
    throw usageError(
      `Cannot use --${name} "${text}": expected a size such as 6MiB, 20MB or 1048576, or off`,
    );
  }
  return Math.floor(Number(m[1]) * unit);
}

/** Parses `migrate`'s arguments. @throws CliError invalid_usage (exit 2) */
export function parseMigrateArgs(args: string[]): MigrateOptions | "help" {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        to: { type: "string" },
        execute: { type: "boolean", default: false },
        "plan-out": { type: "string" },
        "report-out": { type: "string" },
        "map-users": { type: "boolean", default: false },
        overwrite: { type: "boolean", default: false },
        "ignore-quota": { type: "boolean", default: false },
        concurrency: { type: "string" },
        retries: { type: "string" },
        verify: { type: "string" },
        "resumable-above": { type: "string" },
        "delete-after": { type: "boolean", default: false },
        shard: { type: "string" },
        "db-url": { type: "string" },
        "s3-endpoint": { type: "string" },
        "s3-region": { type: "string" },
        "s3-path-style": { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
  } catch (error) {
    throw usageError(error instanceof Error ? error.message : String(error));
  }
  const v = parsed.values;
  if (v.help) return "help";
  if (parsed.positionals.length !== 1) {
    throw usageError("Give exactly one source: s3://bucket[/prefix] or a directory");
  }
  if (!v.to) throw usageError("Give the target: --to <bucket[/prefix]>");
  const sourceText = parsed.positionals[0];
  const source = sourceText.startsWith("s3://")
    ? { kind: "s3" as const, location: parseS3Url(sourceText) }
    : { kind: "local" as const, path: sourceText };
  const verify = v.verify ?? "etag";
  if (verify !== "etag" && verify !== "full") {
    throw usageError(`Cannot use --verify "${verify}": expected etag or full`);
  }
  if (v["delete-after"] && !v.execute) throw usageError("--delete-after needs --execute");
  if (v["delete-after"] && source.kind !== "local") {
    throw usageError("--delete-after works on local sources only");
  }
  const target = parseTarget(v.to);
  return {
    source,
    sourceText,
    bucket: target.bucket,
    targetPrefix: target.prefix,
    execute: v.execute,
    planOut: v["plan-out"] ?? null,
    reportOut: v["report-out"] ?? null,
    mapUsers: v["map-users"],
    overwrite: v.overwrite,
    ignoreQuota: v["ignore-quota"],
    concurrency: intOption("concurrency", v.concurrency, 8, 1, 256),
    retries: intOption("retries", v.retries, 4, 0, 20),
    verify,
    resumableAbove: v["resumable-above"] === undefined
      ? DEFAULT_RESUMABLE_ABOVE
      : parseSize("resumable-above", v["resumable-above"]),
    deleteAfter: v["delete-after"],
    shard: v.shard === undefined ? null : parseShard(v.shard),
    dbUrl: v["db-url"],
    s3: { endpoint: v["s3-endpoint"], region: v["s3-region"], pathStyle: v["s3-path-style"] },
    json: v.json,
  };
}
