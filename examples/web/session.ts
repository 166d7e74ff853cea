/**
 * @module How the example page signs in: supabase-js Auth, as a real app does
 * (`signInWithPassword`, `signUp`, `signOut`), against the stack's auth server
 * at `/auth/v1`. supabase-js keeps the session in localStorage and refreshes
 * the access token on its own before it expires.
 *
 * The publishable key comes from `?key=`, else from the stack that serves the page
 * (`stack.json` beside it: the public URL and publishable key, nothing secret).
 */
import {
  type AuthError,
  createClient,
  type Session,
  type SupabaseClient,
} from "@supabase/supabase-js";

/** What the page shows about the signed-in user. */
export interface Identity {
  sub: string;
  email: string | null;
  /** When the current access token expires. */
  expiresAt: Date | null;
}

/** The identity of a session. */
export function identityOf(session: Session): Identity {
  return {
    sub: session.user.id,
    email: session.user.email ?? null,
    expiresAt: session.expires_at ? new Date(session.expires_at * 1000) : null,
  };
}

/**
 * Finds the project's publishable key (`sb_publishable_...`; a legacy anon key
 * works too): `?key=`, else the serving stack's `stack.json`. Never a secret key.
 */
export async function publishableKey(params: URLSearchParams): Promise<string> {
  const fromUrl = params.get("key");
  if (fromUrl) return fromUrl;
  const res = await fetch(new URL("stack.json", location.href));
  if (!res.ok) {
    throw new Error(`No API key: add ?key=<publishable key> to the address (${res.status})`);
  }
  const body = (await res.json()) as { publishableKey?: string; anonKey?: string };
  const key = body.publishableKey ?? body.anonKey;
  if (!key) throw new Error("No API key: add ?key=<publishable key> to the address");
  return key;
}

/** The page's supabase-js client (session in localStorage, refreshed automatically). */
export function authClient(url: string, key: string): SupabaseClient {
  return createClient(url, key, {
    auth: { persistSession: true, autoRefreshToken: true, detectSessionInUrl: false },
  });
}

/** A sign-in or sign-up failure in words a person can act on. */
export function explainAuthError(error: AuthError): string {
  switch (error.code) {
    case "invalid_credentials":
      return "Wrong email or password.";
    case "user_already_exists":
      return "That email already has an account: sign in instead.";
    case "weak_password":
    case "validation_failed":
      return error.message;
    case "email_not_confirmed":
      return "Confirm your email first.";
    default:
      return `Could not sign in: ${error.message}`;
  }
}
