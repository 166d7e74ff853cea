/**
 * @module The functions' configuration, parsed once with zod from an env
 * object passed in (only the entry points read `Deno.env`). A problem names
 * the variable, never its value.
 */
import { z } from "zod";

const url = z.string().trim().url();
const optionalText = z.string().trim().min(1).optional();
const positiveInt = (fallback: number, max: number) =>
  z.coerce.number().int().min(1).max(max).default(fallback);

/**
 * The environment variables the functions read, as the Edge Runtime provides them:
 * a project with the new API keys gets `SUPABASE_PUBLISHABLE_KEYS` and
 * `SUPABASE_SECRET_KEYS` (JSON dictionaries of named keys), one that still has the
 * legacy keys `SUPABASE_ANON_KEY` and `SUPABASE_SERVICE_ROLE_KEY`; either suffices.
 */
export const EnvSchema = z.object({
  SUPABASE_URL: url,
  SUPABASE_PUBLISHABLE_KEYS: optionalText,
  SUPABASE_SECRET_KEYS: optionalText,
  SUPABASE_ANON_KEY: optionalText,
  SUPABASE_SERVICE_ROLE_KEY: optionalText,
  SUPABASE_DB_URL: z.string().trim().min(1),
  SUPABASE_JWKS: optionalText,
  PUBLIC_SUPABASE_URL: url.optional(),
  LEGACY_JWT_SECRET: optionalText,
  ASSISTANT_WEBHOOK_SECRET: optionalText,
  DB_POOL_URL: optionalText,
  FOLDER_DELETE_BUDGET_MS: positiveInt(25_000, 10 * 60_000),
});

const MISSING_PUBLISHABLE = "SUPABASE_PUBLISHABLE_KEYS is missing (or SUPABASE_ANON_KEY)";
const MISSING_SECRET = "SUPABASE_SECRET_KEYS is missing (or SUPABASE_SERVICE_ROLE_KEY)";

/** Parsed configuration. */
export interface Config {
  /** The Supabase API URL as the function reaches it (internal under `functions serve`). */
  supabaseUrl: string;
  /** The Supabase API URL as browsers reach it: signed URLs are built on it. */
  publicSupabaseUrl: string;
  /** Named publishable keys (`SUPABASE_PUBLISHABLE_KEYS`), possibly none. */
  publishableKeys: Record<string, string>;
  /** Named secret keys (`SUPABASE_SECRET_KEYS`), possibly none. */
  secretKeys: Record<string, string>;
  /** The legacy anon JWT, or null when the project has none (or has disabled it). */
  anonKey: string | null;
  /** The legacy service_role JWT, or null when the project has none (or has disabled it). */
  serviceRoleKey: string | null;
  /** The `apikey` of calls made for a user: the default publishable key, else the anon key. */
  apiKey: string;
  /** The key of service-side calls: the default secret key, else the service_role key. */
  serviceKey: string;
  /** Postgres URL to connect with: the pooler's when set, else the direct one. */
  databaseUrl: string;
  /** True when connecting through the transaction pooler (prepared statements off). */
  usesPooler: boolean;
  /** Parsed JWKS (`SUPABASE_JWKS`), or null to fetch it from the Auth server. */
  jwks: { keys: Record<string, unknown>[] } | null;
  /** HS256 secret of legacy tokens, or null when the project has none. */
  legacyJwtSecret: string | null;
  assistantWebhookSecret: string | null;
  /** Time budget of one `DELETE /folders` call. */
  folderDeleteBudgetMs: number;
}

/** The result of {@link parseConfig}: a config, or the problems (variable names only). */
export type ConfigResult =
  | { ok: true; config: Config; problems: [] }
  | { ok: false; config: null; problems: string[] };

/**
 * Parses the environment. Never throws; a missing or invalid variable becomes a
 * problem such as `SUPABASE_DB_URL is missing` (the value is never repeated).
 * @example parseConfig(Deno.env.toObject())
 */
export function parseConfig(env: Record<string, string | undefined>): ConfigResult {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value.trim() !== ""),
  );
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0] ?? "environment");
      return cleaned[name] === undefined ? `${name} is missing` : `${name} is invalid`;
    });
    if (!cleaned.SUPABASE_PUBLISHABLE_KEYS && !cleaned.SUPABASE_ANON_KEY) {
      problems.push(MISSING_PUBLISHABLE);
    }
    if (!cleaned.SUPABASE_SECRET_KEYS && !cleaned.SUPABASE_SERVICE_ROLE_KEY) {
      problems.push(MISSING_SECRET);
    }
    return { ok: false, config: null, problems: [...new Set(problems)] };
  }
  const e = parsed.data;
  const problems: string[] = [];
  const jwks = parseJwks(e.SUPABASE_JWKS);
  if (jwks === "invalid") problems.push("SUPABASE_JWKS is invalid");
  const publishableKeys = parseKeys(e.SUPABASE_PUBLISHABLE_KEYS);
  if (publishableKeys === "invalid") problems.push("SUPABASE_PUBLISHABLE_KEYS is invalid");
  const secretKeys = parseKeys(e.SUPABASE_SECRET_KEYS);
  if (secretKeys === "invalid") problems.push("SUPABASE_SECRET_KEYS is invalid");
  if (jwks === "invalid" || publishableKeys === "invalid" || secretKeys === "invalid") {
    return { ok: false, config: null, problems };
  }
  const apiKey = defaultKey(publishableKeys) ?? e.SUPABASE_ANON_KEY;
  const serviceKey = defaultKey(secretKeys) ?? e.SUPABASE_SERVICE_ROLE_KEY;
  if (!apiKey) problems.push(MISSING_PUBLISHABLE);
  if (!serviceKey) problems.push(MISSING_SECRET);
  if (!apiKey || !serviceKey) return { ok: false, config: null, problems };
  return {
    ok: true,
    problems: [],
    config: {
      supabaseUrl: stripSlash(e.SUPABASE_URL),
      publicSupabaseUrl: stripSlash(e.PUBLIC_SUPABASE_URL ?? e.SUPABASE_URL),
      publishableKeys,
      secretKeys,
      anonKey: e.SUPABASE_ANON_KEY ?? null,
      serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY ?? null,
      apiKey,
      serviceKey,
      databaseUrl: e.DB_POOL_URL ?? e.SUPABASE_DB_URL,
      usesPooler: e.DB_POOL_URL !== undefined,
      jwks,
      legacyJwtSecret: e.LEGACY_JWT_SECRET ?? null,
      assistantWebhookSecret: e.ASSISTANT_WEBHOOK_SECRET ?? null,
      folderDeleteBudgetMs: e.FOLDER_DELETE_BUDGET_MS,
    },
  };
}

function parseJwks(text: string | undefined): Config["jwks"] | "invalid" {
  if (text === undefined) return null;
  try {
    const value = JSON.parse(text);
    // The Edge Runtime passes either a JWKS object or a bare array of keys.
    const keys = Array.isArray(value) ? value : value?.keys;
    if (!Array.isArray(keys)) return "invalid";
    return { keys };
  } catch {
    return "invalid";
  }
}

/** Parses a JSON dictionary of named keys, e.g. `{"default":"sb_secret_..."}`. */
function parseKeys(text: string | undefined): Record<string, string> | "invalid" {
  if (text === undefined) return {};
  try {
    const value = JSON.parse(text);
    if (typeof value !== "object" || value === null || Array.isArray(value)) return "invalid";
    const entries = Object.entries(value);
    if (!entries.every(([, v]) => typeof v === "string" && v.length > 0)) return "invalid";
    return Object.fromEntries(entries) as Record<string, string>;
  } catch {
    return "invalid";
  }
}

/** The `default` key of a dictionary, else its first, as the platform's clients choose. */
function defaultKey(keys: Record<string, string>): string | undefined {
  return keys.default ?? Object.values(keys)[0];
}

function stripSlash(value: string): string {
  return value.replace(/\/+$/, "");
}
