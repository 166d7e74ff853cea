/**
 * @module Integration tests of `GET/PUT /assistants/positions/{courseId}` over
 * HTTP: the caller's last position per course, 0 when none, never another's.
 */
import assert from "node:assert/strict";
import { createUser, functionUrl } from "../support/stack.ts";

async function call(
  method: "GET" | "PUT",
  courseId: string,
  token: string | undefined,
  body?: unknown,
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  const response = await fetch(
    `${await functionUrl("assistants")}/positions/${encodeURIComponent(courseId)}`,
    { method, headers, body: body === undefined ? undefined : JSON.stringify(body) },
  );
  return { status: response.status, body: await response.json() };
}

Deno.test("GET /positions answers 0 for a course with no saved position", async () => {
  const user = await createUser();
  const { status, body } = await call("GET", "never-opened", user.token);
  assert.equal(status, 200);
  assert.deepEqual(body, { courseId: "never-opened", lastPosition: 0, updatedAt: null });
});

Deno.test("PUT /positions saves, overwrites and reads back per course", async () => {
  const user = await createUser();
  const saved = await call("PUT", "math", user.token, { lastPosition: 12 });
  assert.equal(saved.status, 200);
  assert.equal(saved.body.lastPosition, 12);
  assert.equal((await call("PUT", "math", user.token, { lastPosition: 3 })).body.lastPosition, 3);
  await call("PUT", "art", user.token, { lastPosition: 99 });
  assert.equal((await call("GET", "math", user.token)).body.lastPosition, 3);
  assert.equal((await call("GET", "art", user.token)).body.lastPosition, 99);
  const zero = await call("PUT", "art", user.token, { lastPosition: 0 });
  assert.equal(zero.body.lastPosition, 0);
});

Deno.test("another user never sees or changes the caller's position", async () => {
  const alice = await createUser();
  const bob = await createUser();
  await call("PUT", "shared-course", alice.token, { lastPosition: 41 });
  assert.equal((await call("GET", "shared-course", bob.token)).body.lastPosition, 0);
  await call("PUT", "shared-course", bob.token, { lastPosition: 7 });
  assert.equal((await call("GET", "shared-course", alice.token)).body.lastPosition, 41);
  assert.equal((await call("GET", "shared-course", bob.token)).body.lastPosition, 7);
});

Deno.test("course ids with spaces, unicode and dots round-trip; large positions too", async () => {
  const user = await createUser();
  for (const courseId of ["Intro to Física 2.0", "a.b", "ü-ß"]) {
    const big = Number.MAX_SAFE_INTEGER;
    const put = await call("PUT", courseId, user.token, { lastPosition: big });
    assert.equal(put.status, 200, courseId);
    assert.deepEqual(
      { ...(await call("GET", courseId, user.token)).body, updatedAt: null },
      { courseId, lastPosition: big, updatedAt: null },
    );
  }
});

Deno.test("PUT /positions refuses negative, fractional, non-numeric and missing values with 400", async () => {
  const user = await createUser();
  for (const body of [{ lastPosition: -1 }, { lastPosition: 0.5 }, { lastPosition: "5" }, {}, []]) {
    const { status, body: answer } = await call("PUT", "c", user.token, body);
    assert.equal(status, 400, JSON.stringify(body));
    assert.equal(answer.error.code, "invalid_request");
  }
  assert.equal((await call("GET", "c", user.token)).body.lastPosition, 0);
});

Deno.test("/positions refuses a missing token with 401", async () => {
  for (const method of ["GET", "PUT"] as const) {
    const { status, body } = await call(
      method,
      "c",
      undefined,
      method === "PUT" ? { lastPosition: 1 } : undefined,
    );
    assert.equal(status, 401);
    assert.equal(body.error.code, "unauthorized");
  }
});
