/**
 * @module The session-issuing flows of GoTrue: sign-up, the password grant
 * and the refresh-token grant (rotation, the reuse interval, reuse detection).
 */
import type postgres from "postgres";
import type { AuthConfig } from "./config.ts";
import { AuthError, INVALID_LOGIN, OAuthError } from "./errors.ts";
import { checkPassword, hashPassword, passwordWeakness } from "./password.ts";
import * as store from "./store.ts";
import type { AccessTokenSigner } from "./tokens.ts";
import { userJson } from "./user-json.ts";

/** What a flow needs: the pool, the settings, the signer. */
export interface AuthContext {
  sql: postgres.Sql;
  config: AuthConfig;
  signer: AccessTokenSigner;
}

/** The caller's user agent and address, recorded on the session. */
export interface ClientInfo {
  userAgent: string | null;
  ip: string | null;
}

/** GoTrue's audience and default role for every user here. */
export const AUDIENCE = "authenticated";
const DEFAULT_ROLE = "authenticated";

// checkmail's format check, which GoTrue uses.
const EMAIL_FORMAT =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

function text(value: unknown): string {
  return typeof value === "string" ? value : "";
}

/** The token response GoTrue sends for a new or refreshed session. */
async function tokenResponse(
  ctx: AuthContext,
  sql: store.Sql,
  user: store.UserRow,
  sessionId: string,
  refreshToken: string,
): Promise<Record<string, unknown>> {
  const amr = await store.amrOf(sql, sessionId);
  const fresh = (await store.findUserById(sql, user.id)) ?? user;
  const { token, expiresAt } = await ctx.signer.sign(
    fresh,
    { sessionId, amr },
    ctx.config.jwtExpiry,
  );
  return {
    access_token: token,
    token_type: "bearer",
    expires_in: expiresAt - Math.floor(Date.now() / 1000),
    expires_at: expiresAt,
    refresh_token: refreshToken,
    user: userJson(fresh, await store.identitiesOf(sql, user.id)),
  };
}

/** Opens a session for a known user and answers with its tokens (also used for the dev users). */
export async function issueSession(
  ctx: AuthContext,
  user: store.UserRow,
  client: ClientInfo,
): Promise<Record<string, unknown>> {
  return await ctx.sql.begin(async (tx) => {
    const { sessionId, refreshToken } = await store.openSession(tx, user.id, client);
    return await tokenResponse(ctx, tx, user, sessionId, refreshToken);
  }) as Record<string, unknown>;
}

function validateEmail(email: string): string {
  if (email === "") throw new AuthError(400, "validation_failed", "An email address is required");
  if (email.length > 255) {
    throw new AuthError(400, "validation_failed", "An email address is too long");
  }
  if (!EMAIL_FORMAT.test(email)) {
    throw new AuthError(
      400,
      "validation_failed",
      "Unable to validate email address: invalid format",
    );
  }
  return email.toLowerCase();
}

/** `POST /signup`: email and password; confirmed at once (and signed in) unless confirmations are on. */
export async function signUp(
  ctx: AuthContext,
  body: Record<string, unknown>,
  client: ClientInfo,
): Promise<Record<string, unknown>> {
  const { config } = ctx;
  if (!config.enableSignup) {
    throw new AuthError(422, "signup_disabled", "Signups not allowed for this instance");
  }
  const password = text(body.password);
  const phone = text(body.phone);
  let email = text(body.email);
  if (password === "") {
    throw new AuthError(400, "validation_failed", "Signup requires a valid password");
  }
  const weak = passwordWeakness(password, config);
  if (weak) throw new AuthError(422, "weak_password", weak.message, weak.reasons);
  if (email !== "" && phone !== "") {
    throw new AuthError(
      400,
      "validation_failed",
      "Only an email address or phone number should be provided on signup.",
    );
  }
  if (phone !== "") {
    throw new AuthError(400, "phone_provider_disabled", "Phone signups are disabled");
  }
  if (email === "") {
    throw new AuthError(400, "validation_failed", "Sign up only available with email provider");
  }
  if (!config.emailEnabled) {
    throw new AuthError(400, "email_provider_disabled", "Email signups are disabled");
  }
  email = validateEmail(email);
  const data = body.data && typeof body.data === "object" && !Array.isArray(body.data)
    ? body.data as Record<string, unknown>
    : {};
  const existing = await store.findUserByEmail(ctx.sql, email, AUDIENCE);
  if (existing) throw alreadyRegistered();
  // Hashing is slow: outside the transaction, as GoTrue does.
  const passwordHash = await hashPassword(password);
  const confirmed = !config.emailConfirmations;
  try {
    return await ctx.sql.begin(async (tx) => {
      const user = await store.insertEmailUser(tx, {
        email,
        passwordHash,
        aud: AUDIENCE,
        role: DEFAULT_ROLE,
        userMetadata: data,
        confirmed,
      });
      if (!confirmed) return userJson(user, await store.identitiesOf(tx, user.id));
      const { sessionId, refreshToken } = await store.openSession(tx, user.id, client);
      return await tokenResponse(ctx, tx, user, sessionId, refreshToken);
    }) as Record<string, unknown>;
  } catch (error) {
    // Two sign-ups of one email at once: the unique index decides.
    if ((error as { code?: string }).code === "23505") throw alreadyRegistered();
    throw error;
  }
}

function alreadyRegistered(): AuthError {
  return new AuthError(422, "user_already_exists", "User already registered");
}

/** `POST /token?grant_type=password`. */
export async function passwordGrant(
  ctx: AuthContext,
  body: Record<string, unknown>,
  client: ClientInfo,
): Promise<Record<string, unknown>> {
  const email = text(body.email);
  const phone = text(body.phone);
  const password = text(body.password);
  if (email !== "" && phone !== "") {
    throw new AuthError(
      400,
      "validation_failed",
      "Only an email address or phone number should be provided on login.",
    );
  }
  if (phone !== "") {
    throw new AuthError(422, "phone_provider_disabled", "Phone logins are disabled");
  }
  if (email === "") throw new AuthError(400, "validation_failed", "missing email or phone");
  if (!ctx.config.emailEnabled) {
    throw new AuthError(422, "email_provider_disabled", "Email logins are disabled");
  }
  const user = await store.findUserByEmail(ctx.sql, email, AUDIENCE);
  if (!user || !user.encrypted_password) {
    throw new AuthError(400, "invalid_credentials", INVALID_LOGIN);
  }
  if (user.banned_until && user.banned_until > new Date()) {
    throw new AuthError(400, "user_banned", "User is banned");
  }
  if (!(await checkPassword(password, user.encrypted_password))) {
    throw new AuthError(400, "invalid_credentials", INVALID_LOGIN);
  }
  if (!user.email_confirmed_at) {
    throw new AuthError(400, "email_not_confirmed", "Email not confirmed");
  }
  let weak: { message: string; reasons: string[] } | undefined;
  try {
    weak = passwordWeakness(password, ctx.config);
  } catch { /* too long for the rules, yet it matched: GoTrue only logs this */ }
  const response = await issueSession(ctx, user, client);
  return weak ? { ...response, weak_password: weak } : response;
}

/** `POST /token?grant_type=refresh_token`: GoTrue's legacy (v1) rotating refresh tokens. */
export async function refreshGrant(
  ctx: AuthContext,
  body: Record<string, unknown>,
  client: ClientInfo,
): Promise<Record<string, unknown>> {
  const presented = text(body.refresh_token);
  if (presented === "") throw new OAuthError("invalid_request", "refresh_token required");
  const notFound = () =>
    new AuthError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found");
  if (presented.length !== 12) throw notFound();
  let reuseDetected = false;
  const result = await ctx.sql.begin(async (tx) => {
    const token = await store.findRefreshToken(tx, presented, true);
    if (!token) throw notFound();
    const user = await store.findUserById(tx, token.user_id);
    if (!user) throw notFound();
    if (user.banned_until && user.banned_until > new Date()) {
      throw new AuthError(400, "user_banned", "Invalid Refresh Token: User Banned");
    }
    const session = token.session_id ? await store.findSession(tx, token.session_id, true) : null;
    if (!session) {
      throw new AuthError(
        400,
        "session_not_found",
        "Invalid Refresh Token: No Valid Session Found",
      );
    }
    if (session.not_after && session.not_after < new Date()) {
      throw new AuthError(400, "session_expired", "Invalid Refresh Token: Session Expired");
    }
    let issued: string | undefined;
    if (token.revoked) {
      const active = await store.activeRefreshToken(tx, session.id);
      if (active && active.parent === token.token) {
        // The client lost the answer to its last refresh: hand back the live token.
        issued = active.token;
      } else {
        const reuseUntil = token.updated_at.getTime() + ctx.config.refreshTokenReuseInterval * 1000;
        if (Date.now() > reuseUntil) {
          if (ctx.config.refreshTokenRotation) await store.revokeSessionTokens(tx, session.id);
          reuseDetected = true;
          return undefined;
        }
      }
    }
    issued ??= await store.swapRefreshToken(tx, token);
    await store.touchSession(tx, session.id, client);
    return await tokenResponse(ctx, tx, user, session.id, issued);
  });
  // GoTrue commits the revocation, then answers with the error.
  if (reuseDetected || !result) {
    throw new AuthError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used");
  }
  return result as Record<string, unknown>;
}
