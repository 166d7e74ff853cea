/**
 * @module Recipe (a), Anantra LMS: the backend generates a course for a user and
 * stores its files under `user_data/<uid>/<courseId>/` in `anantra-lms-store`
 * (counted in the user's quota), lists the user's courses and a course's files,
 * and deletes a whole course folder, resumably: every `DELETE /folders` call
 * deletes what it can within its time budget and says what remains, so a
 * deletion cut short (a deploy, a timeout, an abort) is finished by calling
 * {@link deleteCourse} again.
 *
 * Run it (backend environment: SUPABASE_URL, SUPABASE_SECRET_KEY):
 *
 *     deno run -A examples/backends/lms-courses.ts generate <userId> <courseId>
 *     deno run -A examples/backends/lms-courses.ts list <userId> [courseId]
 *     deno run -A examples/backends/lms-courses.ts delete <userId> <courseId>
 *
 * Each command prints one JSON line.
 */
import {
  type Backend,
  type BackendFile,
  configFromEnv,
  connect,
  listForUser,
  uploadForUser,
  type UploadOutcome,
} from "./backend.ts";
import type { FolderProgress, ListedFile } from "../../clients/js/mod.ts";

/** The LMS bucket: a user's files live under `user_data/<uid>/`. */
export const LMS_BUCKET = "anantra-lms-store";

/** One generated file of a course, relative to the course folder. */
export interface CourseFile {
  /** e.g. `course_info.json`, `course_materials/week-1.md`, `index.faiss`. */
  name: string;
  body: Blob;
  contentType?: string;
}

function courseFolder(courseId: string): string {
  // One path segment: the API refuses anything else (`invalid_path`), say it early.
  if (!courseId || courseId.includes("/") || courseId === "." || courseId === "..") {
    throw new Error(`Invalid course id "${courseId}": one path segment, e.g. "physics-101"`);
  }
  return `${courseId}/`;
}

/**
 * Stores a generated course for a user: reserves every file in the user's quota (all or
 * nothing per 100 files), then uploads the bytes straight to Storage.
 * @throws StowageError `quota_exceeded`, `already_exists` (a file is there and `overwrite`
 *   is false), `not_found` (no such user)... before any byte moves
 */
export async function saveCourse(
  backend: Backend,
  userId: string,
  courseId: string,
  files: CourseFile[],
  options: { overwrite?: boolean } = {},
): Promise<UploadOutcome> {
  const folder = courseFolder(courseId);
  const toUpload: BackendFile[] = files.map((f) => ({
    path: `${folder}${f.name}`,
    body: f.body,
    contentType: f.contentType,
  }));
  return await uploadForUser(backend, userId, LMS_BUCKET, toUpload, {
    upsert: options.overwrite ?? false,
  });
}

/** The user's course ids: the folders at the top of their home, every page. */
export async function listCourses(backend: Backend, userId: string): Promise<string[]> {
  const courses: string[] = [];
  for await (
    const page of listForUser(backend, userId, { bucket: LMS_BUCKET, prefix: "", limit: 1000 })
  ) {
    courses.push(...page.folders.map((f) => f.name));
  }
  return courses;
}

/** Every file of a course, nested folders included, every page. */
export async function listCourseFiles(
  backend: Backend,
  userId: string,
  courseId: string,
): Promise<ListedFile[]> {
  const files: ListedFile[] = [];
  for await (
    const page of listForUser(backend, userId, {
      bucket: LMS_BUCKET,
      prefix: courseFolder(courseId),
      recursive: true,
      limit: 1000,
    })
  ) {
    files.push(...page.items);
  }
  return files;
}

/**
 * Deletes a whole course folder (nested folders, past every page size), calling
 * `DELETE /folders` until it answers `done`. Stopped early (signal, crash), it leaves the
 * rest in place; calling it again finishes the job. The user's quota is freed as objects go.
 * @param options.budgetMs time budget of each call (default: the function's, 25 s)
 * @throws StowageError `aborted` when `signal` fires; `delete_stalled` when calls stop
 *   deleting while objects remain
 */
export async function deleteCourse(
  backend: Backend,
  userId: string,
  courseId: string,
  options: {
    budgetMs?: number;
    signal?: AbortSignal;
    onProgress?: (progress: FolderProgress) => void;
  } = {},
): Promise<FolderProgress> {
  return await backend.stowage.deleteFolder({
    bucket: LMS_BUCKET,
    prefix: courseFolder(courseId),
    userId,
    budgetMs: options.budgetMs,
    signal: options.signal,
    onProgress: options.onProgress,
  });
}

/** A small generated course (what the LMS's generator would produce), for the CLI. */
export function demoCourse(courseId: string): CourseFile[] {
  const json = (value: unknown) =>
    new Blob([JSON.stringify(value, null, 2)], { type: "application/json" });
  const weeks = [1, 2, 3];
  return [
    { name: "course_info.json", body: json({ id: courseId, title: `Course ${courseId}`, weeks }) },
    ...weeks.map((w) => ({
      name: `course_materials/week-${w}.md`,
      body: new Blob([`# Week ${w}\n\nGenerated material.\n`], { type: "text/markdown" }),
    })),
    {
      name: "index.faiss",
      body: new Blob([new Uint8Array(256).map((_, i) => i)]),
      contentType: "application/octet-stream",
    },
  ];
}

if (import.meta.main) {
  const [command, userId, courseId] = Deno.args;
  const backend = connect(configFromEnv());
  let result: unknown;
  if (command === "generate" && userId && courseId) {
    const outcome = await saveCourse(backend, userId, courseId, demoCourse(courseId));
    result = {
      uploaded: outcome.uploaded.map((u) => u.path),
      failed: outcome.failed.map((f) => ({ path: f.path, code: f.error.code })),
    };
  } else if (command === "list" && userId) {
    result = courseId
      ? { files: (await listCourseFiles(backend, userId, courseId)).map((f) => f.path) }
      : { courses: await listCourses(backend, userId) };
  } else if (command === "delete" && userId && courseId) {
    result = await deleteCourse(backend, userId, courseId, {
      onProgress: (p) => console.error(`deleted ${p.deleted}, ${p.remaining} remaining`),
    });
  } else {
    console.error("usage: lms-courses.ts generate|list|delete <userId> [courseId]");
    Deno.exit(2);
  }
  console.log(JSON.stringify(result));
}
