/**
 * @module Integration tests of `GET /assistants/lookup/{assistantId}` over HTTP:
 * the webhook secret, the service role and the owner read a mapping; everyone
 * else, and an unknown id, get the same 404.
 */
import assert from "node:assert/strict";
import { createUser, functionUrl, stack, tokenFor } from "../support/stack.ts";

async function lookup(
  assistantId: string,
  headers: Record<string, string> = {},
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const url = `${await functionUrl("assistants")}/lookup/${encodeURIComponent(assistantId)}`;
  const response = await fetch(url, { headers });
  return { status: response.status, body: await response.json() };
}

async function ownedAssistant() {
  const owner = await createUser();
  const assistantId = `asst_${crypto.randomUUID()}`;
  // Recorded as the LMS backend does: the service key, acting for the owner.
  const { serviceRoleKey } = await stack();
  const response = await fetch(`${await functionUrl("assistants")}/me`, {
    method: "PUT",
    headers: { authorization: `Bearer ${serviceRoleKey}`, "content-type": "application/json" },
    body: JSON.stringify({ assistantId, courseId: "course-7", userId: owner.id }),
  });
  assert.equal(response.status, 200);
  await response.body?.cancel();
  return { owner, assistantId };
}

Deno.test("a webhook presenting ASSISTANT_WEBHOOK_SECRET gets {assistantId, userId, courseId}", async () => {
  const { owner, assistantId } = await ownedAssistant();
  const { assistantWebhookSecret } = await stack();
  const { status, body } = await lookup(assistantId, {
    "x-webhook-secret": assistantWebhookSecret,
  });
  assert.equal(status, 200);
  assert.deepEqual(body, { assistantId, userId: owner.id, courseId: "course-7" });
});

Deno.test("the service role and the owner may look an assistant up", async () => {
  const { owner, assistantId } = await ownedAssistant();
  const { secretKey } = await stack();
  const attempts: Record<string, string>[] = [
    { apikey: secretKey },
    { authorization: `Bearer ${owner.token}` },
  ];
  for (const headers of attempts) {
    const { status, body } = await lookup(assistantId, headers);
    assert.equal(status, 200);
    assert.equal(body.userId, owner.id);
  }
});

Deno.test("a wrong or missing secret, no token, a bad token or another user all get 404", async () => {
  const { assistantId } = await ownedAssistant();
  const other = await createUser();
  const { assistantWebhookSecret, publishableKey } = await stack();
  const attempts: Record<string, string>[] = [
    {},
    { "x-webhook-secret": "" },
    { "x-webhook-secret": "wrong" },
    { "x-webhook-secret": assistantWebhookSecret.slice(0, -1) },
    { "x-webhook-secret": `${assistantWebhookSecret}x` },
    { "x-webhook-secret": assistantWebhookSecret.toUpperCase() + "!" },
    { authorization: `Bearer ${other.token}` },
    { apikey: publishableKey, authorization: `Bearer ${publishableKey}` },
    { apikey: "sb_secret_0000000000000000000000" },
    { authorization: `Bearer ${(await stack()).secretKey}` },
    { authorization: `Bearer ${await tokenFor(other.id, { expiresIn: -60 })}` },
    { authorization: "Bearer not-a-jwt" },
    { authorization: "Basic dXNlcjpwYXNz" },
  ];
  for (const headers of attempts) {
    const { status, body } = await lookup(assistantId, headers);
    assert.equal(status, 404, JSON.stringify(headers));
    assert.equal(body.error.code, "not_found");
    assert.ok(!JSON.stringify(body).includes(assistantWebhookSecret));
  }
});

Deno.test("an unknown id is 404 for the webhook and the service role alike", async () => {
  const { assistantWebhookSecret, secretKey } = await stack();
  const unknown = `asst_${crypto.randomUUID()}`;
  const attempts: Record<string, string>[] = [
    { "x-webhook-secret": assistantWebhookSecret },
    { apikey: secretKey },
  ];
  for (const headers of attempts) {
    const { status, body } = await lookup(unknown, headers);
    assert.equal(status, 404);
    assert.equal(body.error.code, "not_found");
  }
});

Deno.test("another user's 404 looks exactly like an unknown id's", async () => {
  const { assistantId } = await ownedAssistant();
  const other = await createUser();
  const unknown = `asst_${crypto.randomUUID()}`;
  const theirs = await lookup(assistantId, { authorization: `Bearer ${other.token}` });
  const none = await lookup(unknown, { authorization: `Bearer ${other.token}` });
  assert.equal(theirs.status, none.status);
  assert.equal(
    theirs.body.error.message.replace(assistantId, "ID"),
    none.body.error.message.replace(unknown, "ID"),
  );
});

Deno.test("an invalid assistant id is 400 invalid_request for the webhook", async () => {
  const { assistantWebhookSecret } = await stack();
  const { status, body } = await lookup("x".repeat(201), {
    "x-webhook-secret": assistantWebhookSecret,
  });
  assert.equal(status, 400);
  assert.equal(body.error.code, "invalid_request");
});
