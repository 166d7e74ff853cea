/**
 * @module The client's one way to call a function: JSON in, JSON out, the
 * caller's token in `Authorization`, every failure thrown as a StowageError.
 */
import { fromFunctionResponse, fromNetworkFailure, StowageError } from "./errors.ts";

/** Supplies the user's current access token (e.g. from supabase-js `getSession()`). */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

/**
 * What the client uses of a supabase-js client (`createClient(...)` from
 * `@supabase/supabase-js` v2): its `auth`, to read the session before each call
 * and to refresh it once when a function answers 401. Spelled out so the
 * client's types need no import of supabase-js; any `SupabaseClient` fits.
 */
export interface SupabaseAuthClient {
  auth: {
    getSession(): Promise<{ data: { session: { access_token: string } | null } }>;
    refreshSession(): Promise<
      { data: { session: { access_token: string } | null }; error: unknown }
    >;
  };
}

/** What every call needs: where the functions are and how to authenticate. */
export interface Transport {
  /** Base URL of the functions, e.g. `https://x.supabase.co/functions/v1`. */
  functionsUrl: string;
  getToken: TokenSource;
  /**
   * Called once when a function answers 401 to a call sent with `stale`: gives a fresh
   * token to retry with, or nothing (the 401 stands).
   */
  refreshToken?: (stale: string) => Promise<string | null | undefined>;
  /** Sent as `apikey` when set: the publishable key (or legacy anon key), never a secret key. */
  apiKey?: string;
  fetch: typeof fetch;
}

/** One call to a function. */
export interface CallOptions {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Path below the function, e.g. `/uploads`. */
  path: string;
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
  signal?: AbortSignal;
}

async function send(
  t: Transport,
  url: URL,
  options: CallOptions,
  token: string | null | undefined,
  what: string,
): Promise<{ response: Response; text: string }> {
  const headers = new Headers({ accept: "application/json" });
  if (t.apiKey) headers.set("apikey", t.apiKey);
  // A Supabase API key (`sb_secret_...` from a backend's getToken) goes as `apikey` only: the
  // platform refuses one sent as `Bearer`. A user's or a legacy JWT goes as `Bearer`.
  if (token?.startsWith("sb_")) headers.set("apikey", token);
  else if (token) headers.set("authorization", `Bearer ${token}`);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  try {
    const response = await t.fetch(url, {
      method: options.method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
    return { response, text: await response.text() };
  } catch (error) {
    throw fromNetworkFailure(error, what);
  }
}

/**
 * Reads the token from a supabase-js client: `getSession()` before each call (supabase-js
 * refreshes a session about to expire itself), and on a 401 one `refreshSession()`, shared
 * by the calls refused at the same time.
 */
export function supabaseTokens(
  supabase: SupabaseAuthClient,
): Pick<Transport, "getToken" | "refreshToken"> {
  let refreshing: Promise<string | undefined> | null = null;
  const current = async () => (await supabase.auth.getSession()).data.session?.access_token;
  return {
    getToken: current,
    refreshToken: (stale) => {
      refreshing ??= (async () => {
        // Another call may have refreshed already: then its token is the one to use.
        const now = await current();
        if (now && now !== stale) return now;
        const { data, error } = await supabase.auth.refreshSession();
        return error ? undefined : data.session?.access_token;
      })().finally(() => refreshing = null);
      return refreshing;
    },
  };
}

/**
 * Calls `<functionsUrl>/<fn><path>` and returns the parsed JSON answer.
 * @throws StowageError with the API's code and status, `network_error`,
 *   `aborted` or `unexpected_response`
 */
export async function call<T>(t: Transport, fn: string, options: CallOptions): Promise<T> {
  const url = new URL(`${t.functionsUrl.replace(/\/+$/, "")}/${fn}${options.path}`);
  for (const [key, value] of Object.entries(options.query ?? {})) {
    if (value !== undefined && value !== null) url.searchParams.set(key, String(value));
  }
  const what = `Cannot call ${options.method} ${fn}${options.path}`;
  let token: string | null | undefined;
  try {
    token = await t.getToken();
  } catch (error) {
    throw new StowageError("unauthorized", `${what}: getToken failed`, 0, null, error);
  }
  let { response, text } = await send(t, url, options, token, what);
  if (response.status === 401 && token && t.refreshToken) {
    // The token was refused (expired early, a skewed clock): refresh once and retry once.
    let fresh: string | null | undefined;
    try {
      fresh = await t.refreshToken(token);
    } catch {
      fresh = null; // the refresh failed: the 401 stands
    }
    if (fresh && fresh !== token) ({ response, text } = await send(t, url, options, fresh, what));
  }
  if (!response.ok) throw fromFunctionResponse(response.status, text);
  if (response.status === 204 || text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch (error) {
    throw new StowageError(
      "unexpected_response",
      `${what}: the answer is not JSON (HTTP ${response.status})`,
      response.status,
      { body: text.slice(0, 500) },
      error,
    );
  }
}
