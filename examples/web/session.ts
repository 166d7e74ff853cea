/**
 * @module How the example page signs in. A real app gets the token from
 * supabase-js (`supabase.auth.getSession()`); the local stack has no auth
 * server, so the page takes a pasted access token (`deno task token
 * alice@example.com`), or one passed in the URL fragment (`#token=...`, never
 * sent to any server), and keeps it in localStorage. Dev only.
 */

const KEY = "stowage.example.token";

/** What the page shows about the signed-in user (read from the token, not verified). */
export interface Identity {
  token: string;
  sub: string;
  email: string | null;
  expiresAt: Date | null;
}

/** Reads a JWT's payload without verifying it (the functions verify). */
export function decode(token: string): Identity | null {
  const part = token.split(".")[1];
  if (!part) return null;
  try {
    const json = atob(part.replace(/-/g, "+").replace(/_/g, "/"));
    const claims = JSON.parse(json) as { sub?: string; email?: string; exp?: number };
    if (!claims.sub) return null;
    return {
      token,
      sub: claims.sub,
      email: claims.email ?? null,
      expiresAt: claims.exp ? new Date(claims.exp * 1000) : null,
    };
  } catch {
    return null;
  }
}

/** Takes a token from `#token=` (and removes it from the address bar), else localStorage. */
export function load(): Identity | null {
  const hash = new URLSearchParams(location.hash.slice(1));
  const fromHash = hash.get("token");
  if (fromHash) {
    localStorage.setItem(KEY, fromHash);
    hash.delete("token");
    const rest = hash.toString();
    history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
  }
  const token = localStorage.getItem(KEY);
  return token ? decode(token) : null;
}

/** Stores a pasted token; null when it is not a JWT with a subject. */
export function signIn(token: string): Identity | null {
  const identity = decode(token.trim());
  if (identity) localStorage.setItem(KEY, identity.token);
  return identity;
}

/** Forgets the token. */
export function signOut(): void {
  localStorage.removeItem(KEY);
}
