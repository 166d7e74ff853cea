/**
 * @module Quota and usage as the database keeps them (`stowage.quota`,
 * `stowage.usage_of`), plan changes and reconciliation for the service role.
 */
import type { Tx } from "../../_shared/db.ts";

/** A user's plan, limits and usage. */
export interface Quota {
  plan: string;
  quotaBytes: number;
  usedBytes: number;
  reservedBytes: number;
  availableBytes: number;
  objectCount: number;
}

/** One user's reconciliation outcome. */
export interface ReconcileRow {
  userId: string;
  bytesBefore: number;
  bytesAfter: number;
  objectsBefore: number;
  objectsAfter: number;
  droppedReservations: number;
}

type QuotaRow = Record<
  "plan" | "quota_bytes" | "used_bytes" | "reserved_bytes" | "available_bytes" | "object_count",
  string | number
>;

/**
 * The quota of the user a request acts for: the caller (inside `withUser`), or the user a
 * service caller names (inside `withService`; `stowage.quota` checks who may ask).
 * @throws AppError forbidden (a user naming another), invalid_request, not_found
 */
export async function myQuota(tx: Tx, userId: string | null = null): Promise<Quota> {
  const [row] = await tx<QuotaRow[]>`select * from stowage.quota(${userId}::uuid)`;
  return toQuota(row);
}

/** Any user's quota (run inside `withService`). @throws AppError not_found */
export async function usageOf(tx: Tx, userId: string): Promise<Quota> {
  const [row] = await tx<QuotaRow[]>`select * from stowage.usage_of(${userId}::uuid)`;
  return toQuota(row);
}

/** Puts a user on a plan and returns the new quota (inside `withService`). */
export async function setPlan(tx: Tx, userId: string, plan: string): Promise<Quota> {
  await tx`select stowage.set_plan(${userId}::uuid, ${plan})`;
  return await usageOf(tx, userId);
}

/** Recomputes usage counters for one user or all (inside `withService`). */
export async function reconcile(tx: Tx, userId: string | null): Promise<ReconcileRow[]> {
  const rows = await tx<Record<string, string | number>[]>`
    select * from stowage.reconcile(${userId}::uuid)`;
  return rows.map((r) => ({
    userId: String(r.user_id),
    bytesBefore: Number(r.bytes_before),
    bytesAfter: Number(r.bytes_after),
    objectsBefore: Number(r.objects_before),
    objectsAfter: Number(r.objects_after),
    droppedReservations: Number(r.dropped_reservations),
  }));
}

function toQuota(row: QuotaRow): Quota {
  return {
    plan: String(row.plan),
    quotaBytes: Number(row.quota_bytes),
    usedBytes: Number(row.used_bytes),
    reservedBytes: Number(row.reserved_bytes),
    availableBytes: Number(row.available_bytes),
    objectCount: Number(row.object_count),
  };
}
