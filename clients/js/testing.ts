/**
 * @module Test helpers for the client's tests against the local stack: a user
 * (optionally on a small plan of its own) with a client signed in as them.
 */
import { adminSql, createUser, stack, type TestUser } from "../../tests/support/stack.ts";
import { createStowage, type Stowage } from "./mod.ts";

/** A fresh user and a client acting as them. */
export interface Session {
  user: TestUser;
  stowage: Stowage;
}

/**
 * Creates a user and a client for them. `quotaBytes` / `maxFileBytes` put the
 * user on a plan of their own with those limits.
 */
export async function session(
  options: { plan?: string; quotaBytes?: number; maxFileBytes?: number } = {},
): Promise<Session> {
  let plan = options.plan;
  if (options.quotaBytes !== undefined || options.maxFileBytes !== undefined) {
    plan = `client-test-${crypto.randomUUID().slice(0, 8)}`;
    const sql = await adminSql();
    try {
      await sql`insert into stowage.plans (id, quota_bytes, max_file_bytes)
        values (${plan}, ${options.quotaBytes ?? 524288000}, ${options.maxFileBytes ?? null})`;
    } finally {
      await sql.end();
    }
  }
  const user = await createUser({ plan });
  const stowage = createStowage({ url: (await stack()).url, getToken: () => user.token });
  return { user, stowage };
}

/** A Blob of `size` bytes (a repeating pattern) with a type. */
export function blob(size: number, type = "application/octet-stream"): Blob {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = i % 251;
  return new Blob([bytes], { type });
}

/** The LMS bucket: any type, no per-file cap; homes `user_data/{uid}/`. */
export const LMS = "anantra-lms-store";
/** The audio bucket: audio types only, 50 MB per file. */
export const AUDIO = "audiofiles";
