/**
 * @module GoTrue's error answers. Clients that send `X-Supabase-Api-Version:
 * 2024-01-01` or later (supabase-js does) get `{code, message}` with the
 * header echoed; older ones `{code: <status>, error_code, msg}`. Both carry
 * `x-sb-error-code`. A weak password adds `weak_password: {reasons}`; the
 * OAuth-style errors of the token endpoint are `{error, error_description}`.
 */

/** An auth failure with GoTrue's status, error code and message. */
export class AuthError extends Error {
  /**
   * @param status HTTP status
   * @param code GoTrue's error code (`invalid_credentials`, `weak_password`...)
   * @param message GoTrue's message, word for word
   * @param reasons for `weak_password`: `length`, `characters`
   */
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly reasons?: string[],
  ) {
    super(message);
  }
}

/** An OAuth2-shaped error (`{error, error_description}`), as GoTrue's token endpoint gives some. */
export class OAuthError extends Error {
  constructor(readonly error: string, readonly description: string) {
    super(`${error}: ${description}`);
  }
}

/** The API version header supabase-js sends and GoTrue echoes. */
export const API_VERSION_HEADER = "x-supabase-api-version";
const API_VERSION_2024 = "2024-01-01";

/** Whether the request asked for the 2024-01-01 error shape (any date from then on). */
export function wantsNewErrors(req: Request): boolean {
  const date = req.headers.get(API_VERSION_HEADER);
  return !!date && /^\d{4}-\d{2}-\d{2}$/.test(date) && date >= API_VERSION_2024;
}

/** Renders an error as GoTrue does for this request. */
export function errorResponse(req: Request, error: AuthError | OAuthError): Response {
  const headers = new Headers({ "content-type": "application/json" });
  if (error instanceof OAuthError) {
    return new Response(
      JSON.stringify({ error: error.error, error_description: error.description }),
      { status: 400, headers },
    );
  }
  const weak = error.reasons ? { weak_password: { reasons: error.reasons } } : {};
  let body: Record<string, unknown>;
  if (wantsNewErrors(req)) {
    headers.set(API_VERSION_HEADER, API_VERSION_2024);
    body = { code: error.code, message: error.message, ...weak };
  } else {
    body = { code: error.status, error_code: error.code, msg: error.message, ...weak };
  }
  headers.set("x-sb-error-code", error.code);
  return new Response(JSON.stringify(body), { status: error.status, headers });
}

/** GoTrue's message for a failed password or unknown email. */
export const INVALID_LOGIN = "Invalid login credentials";
