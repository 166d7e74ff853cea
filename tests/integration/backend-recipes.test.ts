/**
 * The backend recipes of examples/backends/ run against the local stack with
 * the secret (service-role) key, as a backend runs them: (a) the LMS stores a
 * generated course for a user, lists it and deletes it resumably; (b) CodebeGen
 * uploads a generation in the background and marks it `uploaded: true` with a
 * download link from GET /events; (c) the audio app signs playback links for a
 * user's files. Each recipe's command line runs once as a subprocess too.
 */
import assert from "node:assert/strict";
import { adminSql, createUser, stack, type TestUser } from "../support/stack.ts";
import { api, AUDIO, CODE, expectError, LMS, seedKeys, seedLms } from "../support/storage.ts";
import {
  type Backend,
  connect,
  eventsAfter,
  quotaOf,
  StowageError,
} from "../../examples/backends/backend.ts";
import {
  deleteCourse,
  demoCourse,
  listCourseFiles,
  listCourses,
  saveCourse,
} from "../../examples/backends/lms-courses.ts";
import {
  playbackUrls,
  playlist,
  saveSectionAudio,
} from "../../examples/backends/audio-playback.ts";
import {
  type Generation,
  MemoryCursor,
  MemoryGenerations,
  processEvents,
  saveGeneration,
} from "../../examples/backends/codebegen-uploads.ts";

const root = new URL("../../", import.meta.url).pathname;

async function backend(fetcher?: typeof fetch): Promise<Backend> {
  const s = await stack();
  return connect({ url: s.url, secretKey: s.secretKey, fetch: fetcher });
}

/** Runs a recipe's command line with a backend's environment; returns its JSON line. */
async function runRecipe(file: string, args: string[]): Promise<unknown> {
  const s = await stack();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", `examples/backends/${file}`, ...args],
    cwd: root,
    env: { SUPABASE_URL: s.url, SUPABASE_SECRET_KEY: s.secretKey, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(text.split("\n").at(-1)!);
}

/** Object keys below a prefix of a bucket, as the database has them. */
async function keysBelow(bucket: string, prefix: string): Promise<string[]> {
  const sql = await adminSql();
  try {
    const rows = await sql<{ name: string }[]>`select name from storage.objects
      where bucket_id = ${bucket} and starts_with(name, ${prefix}) order by name collate "C"`;
    return rows.map((r) => r.name);
  } finally {
    await sql.end();
  }
}

const lmsHome = (user: TestUser) => `user_data/${user.id}/`;

// ---------------------------------------------------------------------------------------------
// (a) LMS: course generation and deletion
// ---------------------------------------------------------------------------------------------

Deno.test("LMS recipe: a generated course is stored in the user's home, listed, counted in their quota", async () => {
  const alice = await createUser();
  const b = await backend();
  const course = demoCourse("physics-101");
  const outcome = await saveCourse(b, alice.id, "physics-101", course);
  assert.deepEqual(outcome.failed, []);
  assert.deepEqual(outcome.uploaded.map((u) => u.path).sort(), [
    "physics-101/course_info.json",
    "physics-101/course_materials/week-1.md",
    "physics-101/course_materials/week-2.md",
    "physics-101/course_materials/week-3.md",
    "physics-101/index.faiss",
  ]);
  assert.deepEqual(
    await keysBelow(LMS, lmsHome(alice)),
    outcome.uploaded.map((u) => `${lmsHome(alice)}${u.path}`).sort(),
  );
  assert.deepEqual(await listCourses(b, alice.id), ["physics-101"]);
  const files = await listCourseFiles(b, alice.id, "physics-101");
  assert.equal(files.length, 5);
  const faiss = files.find((f) => f.path === "physics-101/index.faiss")!;
  assert.equal(faiss.size, 256);
  assert.equal(faiss.contentType, "application/octet-stream");
  const total = course.reduce((n, f) => n + f.body.size, 0);
  const quota = await quotaOf(b, alice.id);
  assert.equal(quota.usedBytes, total);
  assert.equal(quota.objectCount, 5);
  // The user sees the same files with their own token.
  const own = await api(
    "GET",
    `/objects?bucket=${LMS}&prefix=physics-101/&recursive=true`,
    alice.token,
  );
  assert.deepEqual(own.body.items.map((i: { path: string }) => i.path), files.map((f) => f.path));

  // Regenerating without overwrite is refused before any byte moves; with it, it replaces.
  await assert.rejects(
    saveCourse(b, alice.id, "physics-101", course),
    (e) => e instanceof StowageError && e.code === "already_exists" && e.status === 409,
  );
  const again = await saveCourse(b, alice.id, "physics-101", course, { overwrite: true });
  assert.equal(again.uploaded.length, 5);
  assert.equal((await quotaOf(b, alice.id)).usedBytes, total);
  // A bad course id never reaches the API.
  await assert.rejects(saveCourse(b, alice.id, "../bob", course), /Invalid course id/);
});

Deno.test("LMS recipe: deleting a big course resumes after an interruption, touching nobody else", async () => {
  const alice = await createUser({ plan: "paid" });
  const bob = await createUser();
  const b = await backend();
  await saveCourse(b, alice.id, "big", demoCourse("big"));
  await saveCourse(b, alice.id, "keep", demoCourse("keep"));
  await saveCourse(b, bob.id, "big", demoCourse("big"));
  // 3,000 more files in nested folders (rows, as a migration leaves them).
  await seedLms(
    alice,
    Array.from({ length: 3000 }, (_, i) => `big/unit-${i % 7}/part-${i % 13}/f-${i}.json`),
  );
  const bobBefore = await keysBelow(LMS, lmsHome(bob));
  const keepBefore = await keysBelow(LMS, `${lmsHome(alice)}keep/`);

  // The backend is stopped after its first call (small budgets: several calls are needed).
  const stop = new AbortController();
  const progress: number[] = [];
  await assert.rejects(
    deleteCourse(b, alice.id, "big", {
      budgetMs: 100,
      signal: stop.signal,
      onProgress: (p) => {
        progress.push(p.remaining);
        stop.abort();
      },
    }),
    (e) => e instanceof StowageError && e.code === "aborted",
  );
  assert.equal(progress.length, 1);
  const left = await keysBelow(LMS, `${lmsHome(alice)}big/`);
  assert.ok(left.length > 0 && left.length < 3005, `left: ${left.length}`);
  assert.equal(left.length, progress[0], "what the call said remains is what remains");

  // Run again: it finishes from where it stopped.
  const done = await deleteCourse(b, alice.id, "big", { budgetMs: 100 });
  assert.equal(done.remaining, 0);
  assert.equal(done.deleted, left.length);
  assert.deepEqual(done.failed, []);
  assert.deepEqual(await keysBelow(LMS, `${lmsHome(alice)}big/`), []);
  assert.deepEqual(await listCourses(b, alice.id), ["keep"]);
  assert.deepEqual(await keysBelow(LMS, `${lmsHome(alice)}keep/`), keepBefore);
  assert.deepEqual(await keysBelow(LMS, lmsHome(bob)), bobBefore);
  const quota = await quotaOf(b, alice.id);
  assert.equal(quota.objectCount, 5, "the quota is freed as objects go");
  // Deleting a course that is gone is done at once.
  assert.deepEqual(await deleteCourse(b, alice.id, "big"), {
    deleted: 0,
    remaining: 0,
    remainingCapped: false,
    failed: [],
    calls: 1,
  });
});

Deno.test("LMS recipe: its command line generates, lists and deletes a course", async () => {
  const carol = await createUser();
  const generated = await runRecipe("lms-courses.ts", ["generate", carol.id, "chem"]) as {
    uploaded: string[];
    failed: unknown[];
  };
  assert.equal(generated.uploaded.length, 5);
  assert.deepEqual(generated.failed, []);
  assert.deepEqual(await runRecipe("lms-courses.ts", ["list", carol.id]), { courses: ["chem"] });
  const listed = await runRecipe("lms-courses.ts", ["list", carol.id, "chem"]) as {
    files: string[];
  };
  assert.deepEqual(listed.files.sort(), generated.uploaded.sort());
  const deleted = await runRecipe("lms-courses.ts", ["delete", carol.id, "chem"]) as {
    deleted: number;
    remaining: number;
  };
  assert.equal(deleted.deleted, 5);
  assert.equal(deleted.remaining, 0);
  assert.deepEqual(await keysBelow(LMS, lmsHome(carol)), []);
});

// ---------------------------------------------------------------------------------------------
// (b) CodebeGen: background upload, marked uploaded from the events
// ---------------------------------------------------------------------------------------------

/** The newest event id: a worker deployed now starts here (a new one would start at 0). */
async function headOfEvents(): Promise<number> {
  const sql = await adminSql();
  try {
    const [{ head }] = await sql<{ head: number }[]>`
      select coalesce(max(id), 0)::bigint::float8 as head from stowage.events`;
    return head;
  } finally {
    await sql.end();
  }
}

/** Runs the worker until `done` holds (events are served once older writers have ended). */
async function workUntil(
  b: Backend,
  store: MemoryGenerations,
  cursor: MemoryCursor,
  done: () => Promise<boolean>,
  options: { userId?: string } = {},
): Promise<Generation[]> {
  const changed: Generation[] = [];
  for (let round = 0; round < 100; round++) {
    changed.push(...(await processEvents(b, store, cursor, options)).changed);
    if (await done()) return changed;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the worker never saw the event");
}

const tarball = (text: string) =>
  new Blob([new TextEncoder().encode(text)], { type: "application/gzip" });

Deno.test("CodebeGen recipe: the request answers at once, the events mark the generation uploaded with a working link", async () => {
  const alice = await createUser();
  const b = await backend();
  const store = new MemoryGenerations();
  const cursor = new MemoryCursor(await headOfEvents());
  const bytes = "fake tarball of generation 1";

  const { generation, upload } = await saveGeneration(b, store, {
    userId: alice.id,
    projectId: "shop-api",
    version: 1,
    generationId: "g1a2b3",
    tarball: tarball(bytes),
  });
  assert.equal(generation.uploaded, false, "the request does not wait for the upload");
  assert.equal(generation.path, "shop-api/generations/v1__g1a2b3.tar.gz");
  await upload;
  const marked = () => store.get(alice.id, generation.path).then((g) => g?.uploaded === true);
  await workUntil(b, store, cursor, marked);
  const done = (await store.get(alice.id, generation.path))!;
  assert.equal(done.error, null);
  assert.ok(done.downloadUrl);
  const expiresIn = (Date.parse(done.expiresAt!) - Date.now()) / 1000;
  assert.ok(expiresIn > 3000 && expiresIn <= 3600, `link lifetime ${expiresIn} s`);
  const got = await fetch(done.downloadUrl);
  assert.equal(got.status, 200);
  assert.equal(await got.text(), bytes);
  const key = `${alice.id}/shop-api/generations/v1__g1a2b3.tar.gz`;
  assert.deepEqual(await keysBelow(CODE, `${alice.id}/`), [key]);
  assert.equal((await quotaOf(b, alice.id)).usedBytes, bytes.length);

  // Resumption: the saved cursor is past the event; a restarted worker finds nothing to redo.
  const saved = cursor.after;
  assert.ok(saved > 0);
  const fresh = new MemoryGenerations();
  const again = await processEvents(b, fresh, new MemoryCursor(saved), { userId: alice.id });
  assert.deepEqual(again, { events: 0, changed: [] });

  // The user deletes it: the next event marks it gone.
  const removed = await api("DELETE", "/objects", alice.token, {
    bucket: CODE,
    paths: [generation.path],
  });
  assert.deepEqual(removed.body.deleted, [generation.path]);
  await workUntil(
    b,
    store,
    cursor,
    () => store.get(alice.id, generation.path).then((g) => g?.uploaded === false),
  );
  assert.equal((await store.get(alice.id, generation.path))!.downloadUrl, null);
});

Deno.test("CodebeGen recipe: a failed background upload is recorded on the generation, never marked uploaded", async () => {
  const b = await backend();
  const store = new MemoryGenerations();
  const ghost = crypto.randomUUID(); // no such user
  const { generation, upload } = await saveGeneration(b, store, {
    userId: ghost,
    projectId: "p",
    version: 3,
    generationId: "x",
    tarball: tarball("bytes"),
  });
  await upload;
  const after = (await store.get(ghost, generation.path))!;
  assert.equal(after.uploaded, false);
  assert.equal(after.error, "not_found");
  assert.deepEqual(await keysBelow(CODE, `${ghost}/`), []);
});

Deno.test("CodebeGen recipe: a cursor the backend cannot use (pruned, another user's) restarts from the oldest event", async () => {
  const alice = await createUser();
  const bob = await createUser();
  const b = await backend();
  const { upload: bobsUpload } = await saveGeneration(b, new MemoryGenerations(), {
    userId: bob.id,
    projectId: "p",
    version: 1,
    generationId: "b",
    tarball: tarball("bob"),
  });
  await bobsUpload;
  const store = new MemoryGenerations();
  const { generation, upload } = await saveGeneration(b, store, {
    userId: alice.id,
    projectId: "p",
    version: 1,
    generationId: "a",
    tarball: tarball("alice"),
  });
  await upload;
  // An id outside alice's events answers 404 for her stream: the worker starts again at 0.
  const bobsEvent = await eventsAfter(b, { userId: bob.id, after: 0, limit: 1 });
  assert.equal(bobsEvent.events.length, 1);
  const cursor = new MemoryCursor(bobsEvent.events[0].id);
  const changed = await workUntil(
    b,
    store,
    cursor,
    () => store.get(alice.id, generation.path).then((g) => g?.uploaded === true),
    { userId: alice.id },
  );
  assert.deepEqual(changed.map((g) => g.userId), [alice.id], "only her generation");
  assert.ok(cursor.after > 0);
});

Deno.test("CodebeGen recipe: its command line uploads a tarball, prints it marked and saves its cursor to a state file", async () => {
  const carol = await createUser();
  const dir = await Deno.makeTempDir({ prefix: "stowage-recipe-" });
  try {
    const file = `${dir}/gen.tar.gz`;
    await Deno.writeFile(file, new TextEncoder().encode("carol's generated project"));
    const state = `${dir}/cursor.json`;
    const printed = await runRecipe("codebegen-uploads.ts", [
      "upload",
      carol.id,
      "todo-api",
      "2",
      file,
      "--state",
      state,
    ]) as Generation;
    assert.equal(printed.uploaded, true);
    assert.equal(printed.userId, carol.id);
    assert.match(printed.path, /^todo-api\/generations\/v2__[0-9a-f]{8}\.tar\.gz$/);
    assert.equal(await (await fetch(printed.downloadUrl!)).text(), "carol's generated project");
    const { after } = JSON.parse(await Deno.readTextFile(state));
    assert.ok(after > 0, "the cursor was saved");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------
// (c) The audio app: signed playback for a user's files
// ---------------------------------------------------------------------------------------------

const mp3 = (text: string) => new Blob([new TextEncoder().encode(text)], { type: "audio/mpeg" });

Deno.test("audio recipe: playback links for a user's project, chapter or section, signed in bulk", async () => {
  const alice = await createUser();
  const bob = await createUser();
  const b = await backend();
  const s1 = { projectId: "novel", chapterId: "ch1", sectionId: "s1" };
  const s2 = { projectId: "novel", chapterId: "ch2", sectionId: "s1" };
  assert.equal(
    (await saveSectionAudio(b, alice.id, s1, [
      { name: "intro.mp3", body: mp3("intro") },
      { name: "part-2.mp3", body: mp3("part two") },
    ])).uploaded.length,
    2,
  );
  assert.equal(
    (await saveSectionAudio(b, alice.id, s2, [{ name: "a.mp3", body: mp3("ch2") }]))
      .uploaded.length,
    1,
  );
  await saveSectionAudio(b, bob.id, s1, [{ name: "intro.mp3", body: mp3("bob's intro") }]);

  const project = await playlist(b, alice.id, { projectId: "novel" });
  assert.deepEqual(project.map((t) => t.path), [
    "novel/ch1/s1/intro.mp3",
    "novel/ch1/s1/part-2.mp3",
    "novel/ch2/s1/a.mp3",
  ]);
  assert.deepEqual(project.map((t) => t.contentType), ["audio/mpeg", "audio/mpeg", "audio/mpeg"]);
  const played = await Promise.all(project.map(async (t) => await (await fetch(t.url)).text()));
  assert.deepEqual(played, ["intro", "part two", "ch2"], "each link plays that user's bytes");
  const section = await playlist(b, alice.id, s1, 600);
  assert.deepEqual(section.map((t) => t.name), ["intro.mp3", "part-2.mp3"]);
  const lifetime = (Date.parse(section[0].expiresAt) - Date.now()) / 1000;
  assert.ok(lifetime > 0 && lifetime <= 600, `asked for 600 s, got ${lifetime}`);
  assert.deepEqual(
    (await playlist(b, alice.id, { projectId: "novel", chapterId: "ch2" })).map((t) => t.path),
    ["novel/ch2/s1/a.mp3"],
  );

  // Paths are the user's own: the same path for bob is bob's file, a missing one is not_found.
  const links = await playbackUrls(b, bob.id, ["novel/ch1/s1/intro.mp3", "novel/ch2/s1/a.mp3"]);
  assert.ok("signedUrl" in links[0]);
  assert.equal(await (await fetch(links[0].signedUrl)).text(), "bob's intro");
  assert.ok("error" in links[1] && links[1].error.code === "not_found");
  // The bucket's rules hold for a backend too.
  await assert.rejects(
    saveSectionAudio(b, alice.id, s1, [{
      name: "notes.txt",
      body: new Blob(["x"]),
      contentType: "text/plain",
    }]),
    (e) => e instanceof StowageError && e.code === "unsupported_media_type" && e.status === 415,
  );
  await assert.rejects(
    playlist(b, crypto.randomUUID(), { projectId: "novel" }),
    (e) => e instanceof StowageError && e.code === "not_found" && e.status === 404,
  );
});

Deno.test("audio recipe: a project of 1,200 files gets 1,200 links (listing and signing past every page)", async () => {
  const alice = await createUser({ plan: "paid" });
  const b = await backend();
  const keys = Array.from(
    { length: 1200 },
    (_, i) =>
      `${alice.id}/big/ch${String(i % 12).padStart(2, "0")}/s${i % 5}/t-${
        String(i).padStart(4, "0")
      }.mp3`,
  );
  await seedKeys(AUDIO, keys, 100, "audio/mpeg");
  const tracks = await playlist(b, alice.id, { projectId: "big" });
  assert.equal(tracks.length, 1200);
  assert.deepEqual(
    tracks.map((t) => `${alice.id}/${t.path}`),
    [...keys].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)),
  );
  assert.equal(new Set(tracks.map((t) => t.url)).size, 1200);
});

Deno.test("audio recipe: its command line prints a section's playlist and signs named paths", async () => {
  const carol = await createUser();
  const b = await backend();
  await saveSectionAudio(b, carol.id, { projectId: "pod", chapterId: "e1", sectionId: "s1" }, [
    { name: "a.mp3", body: mp3("episode one") },
  ]);
  const tracks = await runRecipe("audio-playback.ts", [
    "playlist",
    carol.id,
    "pod",
    "e1",
    "s1",
  ]) as {
    path: string;
    url: string;
  }[];
  assert.deepEqual(tracks.map((t) => t.path), ["pod/e1/s1/a.mp3"]);
  assert.equal(await (await fetch(tracks[0].url)).text(), "episode one");
  const signed = await runRecipe("audio-playback.ts", [
    "sign",
    carol.id,
    "pod/e1/s1/a.mp3",
    "pod/none.mp3",
  ]) as { path: string; signedUrl?: string; error?: { code: string } }[];
  assert.ok(signed[0].signedUrl);
  assert.equal(signed[1].error?.code, "not_found");
  // The route the recipe calls refuses a user token naming someone else (403).
  expectError(
    await api("POST", "/downloads", (await createUser()).token, {
      bucket: AUDIO,
      paths: ["pod/e1/s1/a.mp3"],
      userId: carol.id,
    }),
    403,
    "forbidden",
  );
});
