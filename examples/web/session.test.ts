/**
 * @module The example page's session helpers: who a session is, and sign-in
 * failures in words.
 */
import assert from "node:assert/strict";
import { AuthApiError, type Session } from "@supabase/supabase-js";
import { explainAuthError, identityOf } from "./session.ts";

Deno.test("identityOf reads the user and the access token's expiry from a supabase-js session", () => {
  const session = {
    access_token: "a",
    refresh_token: "r",
    expires_at: 2000000000,
    user: { id: "u1", email: "a@b.c" },
  } as unknown as Session;
  assert.deepEqual(identityOf(session), {
    sub: "u1",
    email: "a@b.c",
    expiresAt: new Date(2000000000000),
  });
});

Deno.test("explainAuthError words GoTrue's codes for a person", () => {
  const error = (code: string, message: string) => new AuthApiError(message, 400, code);
  assert.equal(
    explainAuthError(error("invalid_credentials", "Invalid login credentials")),
    "Wrong email or password.",
  );
  assert.equal(
    explainAuthError(error("user_already_exists", "User already registered")),
    "That email already has an account: sign in instead.",
  );
  assert.equal(
    explainAuthError(error("weak_password", "Password should be at least 6 characters.")),
    "Password should be at least 6 characters.",
  );
  assert.equal(
    explainAuthError(error("over_request_rate_limit", "Too many")),
    "Could not sign in: Too many",
  );
});
