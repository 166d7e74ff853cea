/** @module Unit tests of the webhook secret check: only the configured, non-empty secret matches. */
import assert from "node:assert/strict";
import { webhookSecretMatches } from "./webhook-secret.ts";

Deno.test("the webhook secret matches only itself", () => {
  assert.equal(webhookSecretMatches("s3cret-value", "s3cret-value"), true);
  assert.equal(webhookSecretMatches("s3cret-valuE", "s3cret-value"), false);
  assert.equal(webhookSecretMatches("s3cret-value-longer", "s3cret-value"), false);
  assert.equal(webhookSecretMatches("s3cret", "s3cret-value"), false);
});

Deno.test("a missing or empty secret never matches, even when none is configured", () => {
  assert.equal(webhookSecretMatches(undefined, "s3cret"), false);
  assert.equal(webhookSecretMatches(null, "s3cret"), false);
  assert.equal(webhookSecretMatches("", "s3cret"), false);
  assert.equal(webhookSecretMatches("", null), false);
  assert.equal(webhookSecretMatches("anything", null), false);
  assert.equal(webhookSecretMatches("", ""), false);
});
