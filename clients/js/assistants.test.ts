/**
 * @module The client's assistants calls against the local stack: the caller's
 * one assistant, the reverse lookup, positions, and their refusals.
 */
import assert from "node:assert/strict";
import { StowageError } from "./mod.ts";
import { session } from "./testing.ts";

function code(expected: string, status: number) {
  return (e: unknown) => e instanceof StowageError && e.code === expected && e.status === status;
}

Deno.test("assistants: set, get, lookup by the owner, replace, remove", async () => {
  const { user, stowage } = await session();
  const id = `asst_${crypto.randomUUID().slice(0, 8)}`;
  await assert.rejects(stowage.assistants.get(), code("not_found", 404));
  const set = await stowage.assistants.set({ assistantId: id, courseId: "physics" });
  assert.equal(set.assistantId, id);
  assert.equal(set.userId, user.id);
  assert.equal((await stowage.assistants.get()).courseId, "physics");
  assert.deepEqual(await stowage.assistants.lookup(id), {
    assistantId: id,
    userId: user.id,
    courseId: "physics",
  });
  const other = `${id}-b`;
  await stowage.assistants.set({ assistantId: other, courseId: "chem" });
  await assert.rejects(stowage.assistants.lookup(id), code("not_found", 404));
  assert.equal((await stowage.assistants.get()).assistantId, other);
  await stowage.assistants.remove();
  await assert.rejects(stowage.assistants.get(), code("not_found", 404));
  await assert.rejects(stowage.assistants.remove(), code("not_found", 404));
});

Deno.test("assistants: another user's id is assistant_taken (409) and hidden from lookup", async () => {
  const a = await session();
  const b = await session();
  const id = `asst_${crypto.randomUUID().slice(0, 8)}`;
  await a.stowage.assistants.set({ assistantId: id, courseId: "c1" });
  await assert.rejects(
    b.stowage.assistants.set({ assistantId: id, courseId: "c2" }),
    code("assistant_taken", 409),
  );
  await assert.rejects(b.stowage.assistants.lookup(id), code("not_found", 404));
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
