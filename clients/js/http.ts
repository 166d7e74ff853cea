/**
 * @module The client's one way to call a function: JSON in, JSON out, the
 * caller's token in `Authorization`, every failure thrown as a StowageError.
 */
import { fromFunctionResponse, fromNetworkFailure, StowageError } from "./errors.ts";

/** Supplies the user's current access token (e.g. from supabase-js `getSession()`). */
export type TokenSource = () => string | null | undefined | Promise<string | null | undefined>;

/** What every call needs: where the functions are and how to authenticate. */
export interface Transport {
  /** Base URL of the functions, e.g. `https://x.supabase.co/functions/v1`. */
  functionsUrl: string;
  getToken: TokenSource;
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
  const headers = new Headers({ accept: "application/json" });
  let token: string | null | undefined;
  try {
    token = await t.getToken();
  } catch (error) {
    throw new StowageError("unauthorized", `${what}: getToken failed`, 0, null, error);
  }
  if (token) headers.set("authorization", `Bearer ${token}`);
  if (t.apiKey) headers.set("apikey", t.apiKey);
  if (options.body !== undefined) headers.set("content-type", "application/json");
  let response: Response;
  let text: string;
  try {
    response = await t.fetch(url, {
      method: options.method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
    text = await response.text();
  } catch (error) {
    throw fromNetworkFailure(error, what);
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
