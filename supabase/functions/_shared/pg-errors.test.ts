import assert from "node:assert/strict";
import { fromPostgresError, isPostgresError, SQLSTATE_CLASSES, SQLSTATES } from "./pg-errors.ts";

function pg(code: string, message = "boom", detail?: string) {
  return Object.assign(new Error(message), { name: "PostgresError", code, detail });
}

/** One expected answer per row of the table: [SQLSTATE, message, status, code]. */
const ROWS: [string, string, number, string][] = [
  ["SW400", "invalid_path: bad segment", 400, "invalid_path"],
  ["SW403", "forbidden: not yours", 403, "forbidden"],
  ["SW404", "not_found: bucket", 404, "not_found"],
  ["SW409", "already_exists: a.txt", 409, "already_exists"],
  ["SW413", "file_too_large: 60 MB > 50 MB", 413, "file_too_large"],
  ["SW415", "unsupported_media_type: application/pdf", 415, "unsupported_media_type"],
  [
    "SW429",
    "too_many_reservations: you hold 1000 upload reservations",
    429,
    "too_many_reservations",
  ],
  ["SW507", "quota_exceeded: 512 MiB of 500 MiB", 507, "quota_exceeded"],
  ["42501", "permission denied for table x", 403, "forbidden"],
  ["23505", "duplicate key", 409, "already_exists"],
  ["23503", "fk", 404, "not_found"],
  ["23502", "null", 400, "invalid_request"],
  ["23514", "check", 400, "invalid_request"],
  ["22P02", "invalid input syntax for type uuid", 400, "invalid_request"],
  ["22003", "out of range", 400, "invalid_request"],
  ["22023", "invalid parameter", 400, "invalid_request"],
  ["22001", "too long", 400, "invalid_request"],
  ["57014", "canceling statement due to statement timeout", 503, "database_unavailable"],
  ["57P01", "terminating connection", 503, "database_unavailable"],
  ["57P02", "crash shutdown", 503, "database_unavailable"],
  ["57P03", "starting up", 503, "database_unavailable"],
  ["40001", "serialization", 503, "database_unavailable"],
  ["40P01", "deadlock", 503, "database_unavailable"],
  ["55P03", "lock not available", 503, "database_unavailable"],
  ["25006", "read only", 503, "database_unavailable"],
  ["42883", "function stowage.reserve does not exist", 503, "database_unavailable"],
  ["42P01", "relation does not exist", 503, "database_unavailable"],
  ["3F000", "schema stowage does not exist", 503, "database_unavailable"],
];

Deno.test("every SQLSTATE row maps to its status and code", () => {
  assert.deepEqual(ROWS.map((r) => r[0]).sort(), Object.keys(SQLSTATES).sort());
  for (const [state, message, status, code] of ROWS) {
    const error = fromPostgresError(pg(state, message));
    assert.equal(error.status, status, state);
    assert.equal(error.code, code, state);
  }
});

Deno.test("every SQLSTATE class row maps (08 connection, 53 resources, 57 operator, 22 data)", () => {
  const expected: Record<string, [number, string]> = {
    "08": [503, "database_unavailable"],
    "53": [503, "database_unavailable"],
    "57": [503, "database_unavailable"],
    "22": [400, "invalid_request"],
  };
  assert.deepEqual(Object.keys(SQLSTATE_CLASSES).sort(), Object.keys(expected).sort());
  for (const [cls, [status, code]] of Object.entries(expected)) {
    const error = fromPostgresError(pg(`${cls}0X9`));
    assert.deepEqual([error.status, error.code], [status, code], cls);
  }
});

Deno.test("our messages lose their code prefix, keep their text and parse DETAIL JSON", () => {
  const error = fromPostgresError(
    pg("SW507", "quota_exceeded: 512 MiB of 500 MiB", '{"quotaBytes":1,"usedBytes":2}'),
  );
  assert.equal(error.message, "512 MiB of 500 MiB");
  assert.deepEqual(error.details, { quotaBytes: 1, usedBytes: 2 });
  assert.equal(
    fromPostgresError(pg("SW400", "invalid_request: p_user_id")).code,
    "invalid_request",
  );
  assert.equal(fromPostgresError(pg("SW409", "assistant_taken: x")).code, "assistant_taken");
  assert.equal(fromPostgresError(pg("SW409", "already_exists: x", "not json")).details, null);
});

Deno.test("database texts outside our SW codes are not sent to clients", () => {
  const error = fromPostgresError(pg("42501", "permission denied for table secret_table"));
  assert.ok(!error.message.includes("secret_table"));
});

Deno.test("driver connection failures are 503 and unknown SQLSTATEs are internal", () => {
  for (const code of ["ECONNREFUSED", "CONNECTION_CLOSED", "CONNECT_TIMEOUT", "CONNECTION_ENDED"]) {
    const error = Object.assign(new Error("x"), { code });
    assert.ok(isPostgresError(error));
    assert.equal(fromPostgresError(error).status, 503);
  }
  assert.equal(fromPostgresError(pg("XX000")).status, 500);
  assert.equal(isPostgresError(new Error("x")), false);
});

Deno.test("a timeout and a deadlock say what happened, not that the database is unreachable", () => {
  assert.match(
    fromPostgresError(pg("57014", "canceling statement")).message,
    /did not answer in time/,
  );
  assert.match(fromPostgresError(pg("40P01", "deadlock detected")).message, /collided/);
  assert.match(fromPostgresError(pg("57P03", "starting up")).message, /Cannot reach the database/);
});
