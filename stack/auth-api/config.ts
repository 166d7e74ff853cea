/**
 * @module The auth settings of `supabase/config.toml` that the stack's auth
 * server honours, read the way `supabase start` hands them to GoTrue:
 * `[auth] jwt_expiry`, `enable_signup`, `enable_refresh_token_rotation`,
 * `refresh_token_reuse_interval`, `minimum_password_length`,
 * `password_requirements`, `[auth.email] enabled`, `enable_confirmations`.
 */

/** What the auth server needs from config.toml (defaults: `supabase init`'s). */
export interface AuthConfig {
  /** Access token lifetime in seconds (`jwt_expiry`, 3600). */
  jwtExpiry: number;
  enableSignup: boolean;
  /** A reused refresh token outside the reuse interval revokes its session's tokens. */
  refreshTokenRotation: boolean;
  /** Seconds a revoked refresh token may still be exchanged (`refresh_token_reuse_interval`, 10). */
  refreshTokenReuseInterval: number;
  minimumPasswordLength: number;
  /** Character sets a password must each draw from (GoTrue's `password.required_characters`). */
  requiredCharacters: string[];
  emailEnabled: boolean;
  /** When false (the default), sign-up confirms the email at once and signs in. */
  emailConfirmations: boolean;
}

/** The defaults `supabase init` writes. */
export const DEFAULT_AUTH_CONFIG: AuthConfig = {
  jwtExpiry: 3600,
  enableSignup: true,
  refreshTokenRotation: true,
  refreshTokenReuseInterval: 10,
  minimumPasswordLength: 6,
  requiredCharacters: [],
  emailEnabled: true,
  emailConfirmations: false,
};

const LOWER = "abcdefghijklmnopqrstuvwxyz";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const DIGITS = "0123456789";
const SYMBOLS = "!@#$%^&*()_+-=[]{};'\\:\"|<>?,./`~";

/** The CLI's `password_requirements` values, as the character sets it gives GoTrue. */
const REQUIREMENTS: Record<string, string[]> = {
  "": [],
  letters_digits: [LOWER + UPPER, DIGITS],
  lower_upper_letters_digits: [LOWER, UPPER, DIGITS],
  lower_upper_letters_digits_symbols: [LOWER, UPPER, DIGITS, SYMBOLS],
};

/** Parses one TOML scalar (string, number, boolean); undefined for anything else. */
function scalar(raw: string): string | number | boolean | undefined {
  const text = raw.replace(/\s+#.*$/, "").trim();
  if (text === "true" || text === "false") return text === "true";
  if (/^-?\d+$/.test(text)) return Number(text);
  const quoted = text.match(/^"((?:[^"\\]|\\.)*)"$/) ?? text.match(/^'([^']*)'$/);
  return quoted ? quoted[1] : undefined;
}

/**
 * Reads the `[auth]` and `[auth.email]` keys above from config.toml's text.
 * Only `key = scalar` lines are read (the keys used here are all scalars).
 * @throws Error naming the key when a value has the wrong type
 */
export function parseAuthConfig(toml: string): AuthConfig {
  const values = new Map<string, string | number | boolean | undefined>();
  let section = "";
  for (const line of toml.split("\n")) {
    const header = line.match(/^\s*\[([^\]]+)\]\s*(#.*)?$/);
    if (header) {
      section = header[1].trim();
      continue;
    }
    const pair = line.match(/^\s*([A-Za-z0-9_]+)\s*=\s*(.+)$/);
    if (pair && (section === "auth" || section === "auth.email")) {
      values.set(`${section}.${pair[1]}`, scalar(pair[2]));
    }
  }
  const get = <T extends string | number | boolean>(key: string, fallback: T): T => {
    if (!values.has(key)) return fallback;
    const value = values.get(key);
    if (typeof value !== typeof fallback) {
      throw new Error(`supabase/config.toml: ${key} must be a ${typeof fallback}`);
    }
    return value as T;
  };
  const d = DEFAULT_AUTH_CONFIG;
  const requirement = get("auth.password_requirements", "");
  const requiredCharacters = REQUIREMENTS[requirement];
  if (!requiredCharacters) {
    throw new Error(
      `supabase/config.toml: auth.password_requirements "${requirement}" is not one of ${
        Object.keys(REQUIREMENTS).map((k) => `"${k}"`).join(", ")
      }`,
    );
  }
  return {
    jwtExpiry: get("auth.jwt_expiry", d.jwtExpiry),
    enableSignup: get("auth.enable_signup", d.enableSignup),
    refreshTokenRotation: get("auth.enable_refresh_token_rotation", d.refreshTokenRotation),
    refreshTokenReuseInterval: get(
      "auth.refresh_token_reuse_interval",
      d.refreshTokenReuseInterval,
    ),
    minimumPasswordLength: get("auth.minimum_password_length", d.minimumPasswordLength),
    requiredCharacters,
    emailEnabled: get("auth.email.enabled", d.emailEnabled),
    emailConfirmations: get("auth.email.enable_confirmations", d.emailConfirmations),
  };
}

/** Reads `<projectDir>/supabase/config.toml`; the defaults when there is none. */
export async function loadAuthConfig(configPath: string): Promise<AuthConfig> {
  try {
    return parseAuthConfig(await Deno.readTextFile(configPath));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { ...DEFAULT_AUTH_CONFIG };
    throw error;
  }
}
