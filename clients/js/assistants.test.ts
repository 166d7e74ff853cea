/**
 * @module The client's assistants calls against the local stack: the caller's
 * one assistant, the reverse lookup, positions, and their refusals.
 */
import assert from "node:assert/strict";
import { createStowage, StowageError } from "./mod.ts";
import { session } from "./testing.ts";
import { stack } from "../../tests/support/stack.ts";

/** The app's backend: a client holding the service key, which records mappings for users. */
async function backend() {
  const { url, serviceRoleKey } = await stack();
  return createStowage({ url, getToken: () => serviceRoleKey });
}

function code(expected: string, status: number) {
  return (e: unknown) => e instanceof StowageError && e.code === expected && e.status === status;
}

Deno.test("assistants: the backend sets, the user gets, looks up, is replaced, removes", async () => {
  const { user, stowage } = await session();
  const lms = await backend();
  const id = `asst_${crypto.randomUUID().slice(0, 8)}`;
  await assert.rejects(stowage.assistants.get(), code("not_found", 404));
  const set = await lms.assistants.set({ assistantId: id, courseId: "physics", userId: user.id });
  assert.equal(set.assistantId, id);
  assert.equal(set.userId, user.id);
  assert.equal((await stowage.assistants.get()).courseId, "physics");
  assert.deepEqual(await stowage.assistants.lookup(id), {
    assistantId: id,
    userId: user.id,
    courseId: "physics",
  });
  const other = `${id}-b`;
  await lms.assistants.set({ assistantId: other, courseId: "chem", userId: user.id });
  assert.equal((await lms.assistants.get({ userId: user.id })).assistantId, other);
  await assert.rejects(stowage.assistants.lookup(id), code("not_found", 404));
  assert.equal((await stowage.assistants.get()).assistantId, other);
  await stowage.assistants.remove();
  await assert.rejects(stowage.assistants.get(), code("not_found", 404));
  await assert.rejects(stowage.assistants.remove(), code("not_found", 404));
});

Deno.test("assistants: a user cannot claim an id (403, taken or free); the backend is told 409", async () => {
  const a = await session();
  const b = await session();
  const lms = await backend();
  const id = `asst_${crypto.randomUUID().slice(0, 8)}`;
  await lms.assistants.set({ assistantId: id, courseId: "c1", userId: a.user.id });
  await assert.rejects(
    b.stowage.assistants.set({ assistantId: id, courseId: "c2" }),
    code("forbidden", 403),
  );
  await assert.rejects(
    b.stowage.assistants.set({ assistantId: `${id}-free`, courseId: "c2" }),
    code("forbidden", 403),
  );
  await assert.rejects(
    lms.assistants.set({ assistantId: id, courseId: "c2", userId: b.user.id }),
    code("assistant_taken", 409),
  );
  await assert.rejects(b.stowage.assistants.lookup(id), code("not_found", 404));
  await lms.assistants.remove({ userId: a.user.id });
  await assert.rejects(a.stowage.assistants.get(), code("not_found", 404));
});

Deno.test("assistants: positions start at 0 and keep the last saved value", async () => {
  const { stowage } = await session();
  const course = "course with spaces/and slash";
  assert.equal((await stowage.assistants.getPosition(course)).lastPosition, 0);
  const saved = await stowage.assistants.setPosition(course, 42);
  assert.equal(saved.lastPosition, 42);
  assert.equal(saved.courseId, course);
  assert.equal((await stowage.assistants.getPosition(course)).lastPosition, 42);
  await assert.rejects(stowage.assistants.setPosition(course, -1), code("invalid_request", 400));
});
