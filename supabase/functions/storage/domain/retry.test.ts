import assert from "node:assert/strict";
import { AppError } from "../../_shared/app-error.ts";
import { isStorageConflict, isTransient, retryStorageConflicts, withRetry } from "./retry.ts";
import { mapLimit } from "./uploads.ts";

Deno.test("withRetry retries transient failures and gives up on refusals", async () => {
  let calls = 0;
  const value = await withRetry(() => {
    calls++;
    if (calls < 3) throw new AppError("storage_unavailable", "down");
    return Promise.resolve("ok");
  }, { baseDelayMs: 1 });
  assert.equal(value, "ok");
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    withRetry(() => {
      calls++;
      throw new AppError("not_found", "gone");
    }, { baseDelayMs: 1 }),
    AppError,
  );
  assert.equal(calls, 1);
  assert.equal(isTransient(new AppError("database_unavailable", "x")), true);
  assert.equal(isTransient(new AppError("forbidden", "x")), false);
});

Deno.test("withRetry stops at the attempt limit and before the deadline", async () => {
  let calls = 0;
  const fail = () => {
    calls++;
    throw new AppError("storage_unavailable", "down");
  };
  await assert.rejects(withRetry(fail, { attempts: 3, baseDelayMs: 1 }));
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(withRetry(fail, { baseDelayMs: 50, deadline: Date.now() + 10 }));
  assert.equal(calls, 1);
});

Deno.test("mapLimit keeps order and never runs more than the limit at once", async () => {
  let running = 0;
  let peak = 0;
  const out = await mapLimit([1, 2, 3, 4, 5, 6, 7], 3, async (n) => {
    running++;
    peak = Math.max(peak, running);
    await new Promise((r) => setTimeout(r, 5));
    running--;
    return n * 2;
  });
  assert.deepEqual(out, [2, 4, 6, 8, 10, 12, 14]);
  assert.equal(peak, 3);
  await assert.rejects(mapLimit([1, 2], 2, () => Promise.reject(new Error("x"))));
});

Deno.test("isStorageConflict: only a Storage 5xx caused by 40P01 / 40001", () => {
  const api = (statusCode: string, message: string) => ({
    __isStorageError: true,
    name: "StorageApiError",
    status: Number(statusCode),
    statusCode,
    message,
  });
  assert.equal(isStorageConflict(api("500", "database error, code: 40P01")), true);
  assert.equal(isStorageConflict(api("500", "database error, code: 40001")), true);
  assert.equal(isStorageConflict(api("500", "deadlock detected")), true);
  assert.equal(isStorageConflict(api("500", "database error, code: P0001")), false);
  assert.equal(isStorageConflict(api("409", "40P01")), false);
  assert.equal(isStorageConflict(new Error("database error, code: 40P01")), false);
});

Deno.test("retryStorageConflicts resends conflicts, throws everything else at once", async () => {
  const conflict = {
    __isStorageError: true,
    name: "StorageApiError",
    statusCode: "500",
    message: "database error, code: 40P01",
  };
  let calls = 0;
  assert.equal(
    await retryStorageConflicts(() => {
      calls++;
      return calls < 3 ? Promise.reject(conflict) : Promise.resolve("ok");
    }),
    "ok",
  );
  assert.equal(calls, 3);
  calls = 0;
  await assert.rejects(retryStorageConflicts(() => {
    calls++;
    return Promise.reject(new AppError("forbidden", "x"));
  }));
  assert.equal(calls, 1);
});
