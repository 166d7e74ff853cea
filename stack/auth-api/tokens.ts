/**
 * @module Access tokens as GoTrue signs them: the stack's ES256 key with its
 * `kid`, GoTrue's claims in GoTrue's order, `aud` as a string.
 */
import { importJWK, type JWK, SignJWT } from "jose";
import type { UserRow } from "./store.ts";

/** The session facts an access token carries. */
export interface TokenSession {
  sessionId: string;
  amr: { method: string; timestamp: number }[];
}

/** Signs access tokens for one stack. */
export class AccessTokenSigner {
  #key: Promise<CryptoKey | Uint8Array>;

  /**
   * @param signingKey the private ES256 JWK (with `kid`) of the stack's keys.json
   * @param issuer `<API URL>/auth/v1`, as `supabase start` sets GOTRUE_JWT_ISSUER
   */
  constructor(private signingKey: JWK, readonly issuer: string) {
    this.#key = importJWK(signingKey, "ES256");
  }

  /**
   * Signs a token for `user` in `session`, valid `expiresIn` seconds.
   * @returns the token and its `exp` (seconds since the epoch)
   */
  async sign(
    user: UserRow,
    session: TokenSession,
    expiresIn: number,
  ): Promise<{ token: string; expiresAt: number }> {
    const now = Math.floor(Date.now() / 1000);
    const expiresAt = now + expiresIn;
    const token = await new SignJWT({
      iss: this.issuer,
      sub: user.id,
      aud: user.aud ?? "",
      exp: expiresAt,
      iat: now,
      email: user.email ?? "",
      phone: user.phone ?? "",
      app_metadata: user.raw_app_meta_data ?? {},
      user_metadata: user.raw_user_meta_data ?? {},
      role: user.role ?? "",
      aal: "aal1",
      amr: session.amr,
      session_id: session.sessionId,
      is_anonymous: user.is_anonymous,
    })
      .setProtectedHeader({ alg: "ES256", kid: this.signingKey.kid, typ: "JWT" })
      .sign(await this.#key);
    return { token, expiresAt };
  }
}
