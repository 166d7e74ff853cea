/**
 * @module Reading the auth settings of supabase/config.toml.
 */
import assert from "node:assert/strict";
import { DEFAULT_AUTH_CONFIG, parseAuthConfig } from "./config.ts";

Deno.test("config.toml's [auth] and [auth.email] keys are read; other sections are not", () => {
  const config = parseAuthConfig(`
[api]
jwt_expiry = 5
[auth]
jwt_expiry = 600 # ten minutes
enable_signup = false
refresh_token_reuse_interval = 0
minimum_password_length = 8
password_requirements = "letters_digits"
[auth.email]
enable_confirmations = true
[auth.sms]
enabled = true
`);
  assert.equal(config.jwtExpiry, 600);
  assert.equal(config.enableSignup, false);
  assert.equal(config.refreshTokenReuseInterval, 0);
  assert.equal(config.minimumPasswordLength, 8);
  assert.equal(config.requiredCharacters.length, 2);
  assert.equal(config.emailConfirmations, true);
  assert.equal(config.emailEnabled, true);
});

Deno.test("the project's own config.toml gives supabase start's defaults", async () => {
  const text = await Deno.readTextFile(new URL("../../supabase/config.toml", import.meta.url));
  assert.deepEqual(parseAuthConfig(text), DEFAULT_AUTH_CONFIG);
});

Deno.test("a wrong type or an unknown password_requirements is refused with the key", () => {
  assert.throws(
    () => parseAuthConfig(`[auth]\njwt_expiry = "soon"`),
    /auth\.jwt_expiry must be a number/,
  );
  assert.throws(
    () => parseAuthConfig(`[auth]\npassword_requirements = "strong"`),
    /password_requirements "strong" is not one of/,
  );
});
