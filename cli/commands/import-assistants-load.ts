/**
 * @module The work of `stowage import-assistants`: parse the old files, map owners
 * (emails or user ids) to users through auth.users, compare with the rows already in
 * the database, and insert only what is missing (`on conflict do nothing`), so a second
 * run changes nothing and live rows are never overwritten.
 */
import type postgres from "postgres";
import { MAPPING_KEY, type OldLayout } from "./import-assistants-layout.ts";
import { parseMapping, parsePosition, type Row, type Skipped } from "./import-assistants-parse.ts";

/** One entry not loaded, and why (see import-assistants-parse.ts). */
export type { Skipped };

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Counts of one table. */
export interface TableCounts {
  found: number;
  inserted: number;
  unchanged: number;
  unmapped: number;
  conflicts: number;
}

/** The JSON report. */
export interface ImportReport {
  source: string;
  execute: boolean;
  mappingFile: "found" | "missing";
  assistants: TableCounts;
  positions: TableCounts;
  /** Entries whose user or content could not be mapped. */
  unmapped: Skipped[];
  /** Entries the database already holds differently (kept as they are). */
  conflicts: Skipped[];
}

/** Emails (case-insensitive) and canonical user ids -> user id, for those in auth.users. */
async function resolveUsers(sql: postgres.Sql, owners: string[]): Promise<Map<string, string>> {
  const ids = owners.filter((o) => UUID.test(o));
  const emails = owners.filter((o) => !UUID.test(o)).map((o) => o.toLowerCase());
  const rows = await sql`select id::text as id, lower(email) as email from auth.users
    where id = any(${ids}::uuid[]) or lower(email) = any(${emails}::text[])`;
  const map = new Map<string, string>();
  for (const r of rows) {
    map.set(r.id, r.id);
    if (r.email) map.set(r.email, r.id);
  }
  return new Map(owners.flatMap((o) => {
    const id = map.get(UUID.test(o) ? o : o.toLowerCase());
    return id ? [[o, id] as [string, string]] : [];
  }));
}

async function withPool<T>(items: T[], n: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

/** Reads, maps, compares and (with `execute`) loads; returns the report. */
export async function importAssistants(
  layout: OldLayout,
  sql: postgres.Sql,
  execute: boolean,
): Promise<ImportReport> {
  const unmapped: Skipped[] = [];
  const conflicts: Skipped[] = [];
  const mappingText = await layout.read(MAPPING_KEY);
  const assistants = mappingText === null ? [] : parseMapping(mappingText, unmapped);
  const positions: Row[] = [];
  const positionKeys = await layout.positionKeys();
  const foundAssistants = assistants.length + unmapped.length;
  await withPool(positionKeys, 8, async (key) => {
    const text = await layout.read(key);
    if (text === null) {
      unmapped.push({
        kind: "position",
        ref: key,
        reason: "vanished",
        detail: "listed, but gone when read",
      });
      return;
    }
    const row = parsePosition(key, text, unmapped);
    if (row) positions.push(row);
  });
  positions.sort((a, b) => (a.ref < b.ref ? -1 : 1));
  const users = await resolveUsers(sql, [
    ...new Set([...assistants, ...positions].map((r) => r.owner)),
  ]);
  const mapped = (rows: Row[]) =>
    rows.filter((r) => {
      if (users.has(r.owner)) return true;
      unmapped.push({
        kind: r.kind,
        ref: r.ref,
        reason: "unknown_user",
        detail: `no user "${r.owner}"`,
      });
      return false;
    });
  const a = mapped(assistants);
  // Two files for one user and course (an email folder and a user-id folder, or emails
  // differing in case) cannot both load: report them all rather than pick one silently.
  const perCourse = Map.groupBy(mapped(positions), (r) => `${users.get(r.owner)}/${r.courseId}`);
  const p = [...perCourse.values()].flatMap((group) => {
    if (group.length === 1) return group;
    for (const r of group) {
      conflicts.push({
        kind: "position",
        ref: r.ref,
        reason: "duplicate_position",
        detail: `${group.length} position files belong to one user and course "${r.courseId}"`,
      });
    }
    return [];
  });
  const perUser = Map.groupBy(a, (r) => users.get(r.owner)!);
  const single = a.filter((r) => {
    if (perUser.get(users.get(r.owner)!)!.length === 1) return true;
    conflicts.push({
      kind: "assistant",
      ref: r.ref,
      reason: "duplicate_user",
      detail: `user "${r.owner}" has several assistant ids in the mapping`,
    });
    return false;
  });

  const counts = (found: number): TableCounts => ({
    found,
    inserted: 0,
    unchanged: 0,
    unmapped: 0,
    conflicts: 0,
  });
  const report: ImportReport = {
    source: layout.description,
    execute,
    mappingFile: mappingText === null ? "missing" : "found",
    assistants: counts(foundAssistants),
    positions: counts(positionKeys.length),
    unmapped,
    conflicts,
  };
  await sql.begin(async (tx) => {
    const ids = single.map((r) => r.assistantId!);
    const uids = single.map((r) => users.get(r.owner)!);
    const existing = await tx`select assistant_id, user_id::text, course_id from stowage.assistants
      where assistant_id = any(${ids}::text[]) or user_id = any(${uids}::uuid[])`;
    const byId = new Map(existing.map((e) => [e.assistant_id as string, e]));
    const byUser = new Map(existing.map((e) => [e.user_id as string, e]));
    const toInsert: Row[] = [];
    for (const r of single) {
      const uid = users.get(r.owner)!;
      const same = byId.get(r.assistantId!);
      const other = byUser.get(uid);
      const reason = same
        ? same.user_id !== uid
          ? "assistant_taken"
          : same.course_id !== r.courseId
          ? "course_differs"
          : null
        : other
        ? "user_has_assistant"
        : "insert";
      if (reason === null) report.assistants.unchanged++;
      else if (reason === "insert") toInsert.push(r);
      else {conflicts.push({
          kind: "assistant",
          ref: r.ref,
          reason,
          detail: `database has ${JSON.stringify(same ?? other)}`,
        });}
    }
    const puids = p.map((r) => users.get(r.owner)!);
    const have =
      await tx`select user_id::text, course_id, last_position::text from stowage.assistant_positions
      where (user_id, course_id) in (select * from unnest(${puids}::uuid[], ${
        p.map((r) => r.courseId)
      }::text[]))`;
    const pos = new Map(have.map((h) => [`${h.user_id}/${h.course_id}`, Number(h.last_position)]));
    const posInsert = p.filter((r) => {
      const current = pos.get(`${users.get(r.owner)}/${r.courseId}`);
      if (current === undefined) return true;
      if (current === r.lastPosition) report.positions.unchanged++;
      else {conflicts.push({
          kind: "position",
          ref: r.ref,
          reason: "position_differs",
          detail: `database has ${current}`,
        });}
      return false;
    });
    if (!execute) {
      report.assistants.inserted = toInsert.length;
      report.positions.inserted = posInsert.length;
      return;
    }
    const done = await tx`insert into stowage.assistants (assistant_id, user_id, course_id)
      select * from unnest(${toInsert.map((r) => r.assistantId!)}::text[],
        ${toInsert.map((r) => users.get(r.owner)!)}::uuid[], ${
      toInsert.map((r) => r.courseId)
    }::text[])
      on conflict do nothing returning assistant_id`;
    const doneIds = new Set(done.map((d) => d.assistant_id as string));
    report.assistants.inserted = doneIds.size;
    for (const r of toInsert.filter((r) => !doneIds.has(r.assistantId!))) {
      conflicts.push({
        kind: "assistant",
        ref: r.ref,
        reason: "changed_meanwhile",
        detail: "another row appeared during the import",
      });
    }
    const donePos =
      await tx`insert into stowage.assistant_positions (user_id, course_id, last_position)
      select * from unnest(${posInsert.map((r) => users.get(r.owner)!)}::uuid[],
        ${posInsert.map((r) => r.courseId)}::text[], ${
        posInsert.map((r) => r.lastPosition!)
      }::bigint[])
      on conflict do nothing returning user_id::text, course_id`;
    const donePosKeys = new Set(donePos.map((d) => `${d.user_id}/${d.course_id}`));
    report.positions.inserted = donePos.length;
    for (const r of posInsert) {
      if (donePosKeys.has(`${users.get(r.owner)}/${r.courseId}`)) continue;
      conflicts.push({
        kind: "position",
        ref: r.ref,
        reason: "changed_meanwhile",
        detail: "another row appeared during the import",
      });
    }
  });
  for (const kind of ["assistant", "position"] as const) {
    const t = kind === "assistant" ? report.assistants : report.positions;
    t.unmapped = unmapped.filter((u) => u.kind === kind).length;
    t.conflicts = conflicts.filter((u) => u.kind === kind).length;
  }
  return report;
}
