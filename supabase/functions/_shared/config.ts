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

/** The environment variables the functions read, as the Edge Runtime provides them. */
export const EnvSchema = z.object({
  SUPABASE_URL: url,
  SUPABASE_ANON_KEY: z.string().trim().min(1),
  SUPABASE_SERVICE_ROLE_KEY: z.string().trim().min(1),
  SUPABASE_DB_URL: z.string().trim().min(1),
  SUPABASE_JWKS: optionalText,
  PUBLIC_SUPABASE_URL: url.optional(),
  LEGACY_JWT_SECRET: optionalText,
  ASSISTANT_WEBHOOK_SECRET: optionalText,
  DB_POOL_URL: optionalText,
  FOLDER_DELETE_BUDGET_MS: positiveInt(25_000, 10 * 60_000),
});

/** Parsed configuration. */
export interface Config {
  /** The Supabase API URL as the function reaches it (internal under `functions serve`). */
  supabaseUrl: string;
  /** The Supabase API URL as browsers reach it: signed URLs are built on it. */
  publicSupabaseUrl: string;
  anonKey: string;
  serviceRoleKey: string;
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
    return { ok: false, config: null, problems: [...new Set(problems)] };
  }
  const e = parsed.data;
  const jwks = parseJwks(e.SUPABASE_JWKS);
  if (jwks === "invalid") {
    return { ok: false, config: null, problems: ["SUPABASE_JWKS is invalid"] };
  }
  return {
    ok: true,
    problems: [],
    config: {
      supabaseUrl: stripSlash(e.SUPABASE_URL),
      publicSupabaseUrl: stripSlash(e.PUBLIC_SUPABASE_URL ?? e.SUPABASE_URL),
      anonKey: e.SUPABASE_ANON_KEY,
      serviceRoleKey: e.SUPABASE_SERVICE_ROLE_KEY,
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

function stripSlash(value: string): string {
  return value.replace(/\/+$/, "");
}
