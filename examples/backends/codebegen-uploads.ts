/**
 * @module Recipe (b), CodebeGen: the API answers a generation request at once
 * (`uploaded: false`) while the backend uploads the project's tarball for the
 * user in the background, to `<projectId>/generations/v<n>__<generationId>.tar.gz`
 * in `codebegen-projects` (counted in the user's quota). A worker follows the
 * upload events (`GET /events?after=`) and marks each generation `uploaded:
 * true` with a signed download link the moment its object is committed,
 * whichever process or machine uploaded it. The worker saves its cursor after
 * every page, so a restart resumes where it stopped; marking is idempotent, so
 * a page read twice (a crash between processing and saving) does no harm.
 *
 * The upload never blocks the request and never "falls back" anywhere: a
 * failed upload is recorded on the generation (`error`), and the tarball can be
 * uploaded again.
 *
 * Run it (backend environment: SUPABASE_URL, SUPABASE_SECRET_KEY):
 *
 *     # upload a tarball for a user, then wait until the events mark it uploaded
 *     deno run -A examples/backends/codebegen-uploads.ts upload <userId> <projectId> <version> <file.tar.gz> [--state cursor.json]
 *     # the worker alone: follow every user's events, print each generation it marks
 *     deno run -A examples/backends/codebegen-uploads.ts follow [--state cursor.json]
 */
import {
  type Backend,
  configFromEnv,
  connect,
  eventsAfter,
  StowageError,
  type StowageEvent,
  uploadForUser,
} from "./backend.ts";

/** CodebeGen's bucket: a user's projects live under `<uid>/`. */
export const CODE_BUCKET = "codebegen-projects";
/** How long the download link of a generation stays valid (CodebeGen answers `expires_in: 3600`). */
export const LINK_SECONDS = 3600;

const GENERATION_PATH = /^([^/]+)\/generations\/v(\d+)__([^/]+)\.tar\.gz$/;

/** A generation as CodebeGen's API reports it. */
export interface Generation {
  userId: string;
  projectId: string;
  version: number;
  generationId: string;
  /** Home-relative path in the bucket. */
  path: string;
  uploaded: boolean;
  downloadUrl: string | null;
  expiresAt: string | null;
  /** Why the background upload failed (`quota_exceeded`, ...), or null. */
  error: string | null;
}

/** Where the app keeps its generations (its database; {@link MemoryGenerations} here). */
export interface GenerationStore {
  get(userId: string, path: string): Promise<Generation | undefined>;
  put(generation: Generation): Promise<void>;
}

/** The worker's position in the event stream (a row, a file: {@link FileCursor}). */
export interface CursorStore {
  load(): Promise<number>;
  save(after: number): Promise<void>;
}

/** A store in memory. */
export class MemoryGenerations implements GenerationStore {
  readonly rows = new Map<string, Generation>();
  get(userId: string, path: string): Promise<Generation | undefined> {
    return Promise.resolve(this.rows.get(`${userId}/${path}`));
  }
  put(generation: Generation): Promise<void> {
    this.rows.set(`${generation.userId}/${generation.path}`, { ...generation });
    return Promise.resolve();
  }
}

/** A cursor in memory. */
export class MemoryCursor implements CursorStore {
  constructor(public after = 0) {}
  load(): Promise<number> {
    return Promise.resolve(this.after);
  }
  save(after: number): Promise<void> {
    this.after = after;
    return Promise.resolve();
  }
}

/** A cursor in a JSON file (`{"after": 123}`); a missing file is the start (0). */
export class FileCursor implements CursorStore {
  constructor(readonly file: string) {}
  async load(): Promise<number> {
    try {
      return JSON.parse(await Deno.readTextFile(this.file)).after ?? 0;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return 0;
      throw error;
    }
  }
  async save(after: number): Promise<void> {
    const tmp = `${this.file}.tmp`;
    await Deno.writeTextFile(tmp, JSON.stringify({ after }));
    await Deno.rename(tmp, this.file); // atomic: a crash leaves the old cursor or the new one
  }
}

/** The path of a generation's tarball in the user's home. */
export function generationPath(projectId: string, version: number, generationId: string): string {
  const path = `${projectId}/generations/v${version}__${generationId}.tar.gz`;
  if (!GENERATION_PATH.test(path) || !Number.isInteger(version) || version < 0) {
    throw new Error(`Invalid generation: project "${projectId}", version ${version}`);
  }
  return path;
}

/**
 * What the generation request does: records the generation as not uploaded yet and starts
 * the upload without waiting for it. Answer the request with `generation`; `upload` settles
 * when the bytes are stored (or the failure is recorded) and never rejects.
 */
export async function saveGeneration(
  backend: Backend,
  store: GenerationStore,
  input: {
    userId: string;
    projectId: string;
    version: number;
    generationId: string;
    tarball: Blob;
  },
): Promise<{ generation: Generation; upload: Promise<void> }> {
  const path = generationPath(input.projectId, input.version, input.generationId);
  const generation: Generation = {
    userId: input.userId,
    projectId: input.projectId,
    version: input.version,
    generationId: input.generationId,
    path,
    uploaded: false,
    downloadUrl: null,
    expiresAt: null,
    error: null,
  };
  await store.put(generation);
  const upload = (async () => {
    let error: string | null = null;
    try {
      const outcome = await uploadForUser(backend, input.userId, CODE_BUCKET, [
        { path, body: input.tarball, contentType: "application/gzip" },
      ], { upsert: true });
      if (outcome.failed.length) error = outcome.failed[0].error.code;
    } catch (e) {
      error = e instanceof StowageError ? e.code : String(e);
    }
    if (error) {
      // Only the failure is written here: `uploaded` is the worker's to set, from the events.
      const current = await store.get(input.userId, path) ?? generation;
      await store.put({ ...current, error });
    }
  })();
  return { generation, upload };
}

function parse(path: string) {
  const m = GENERATION_PATH.exec(path);
  return m ? { projectId: m[1], version: Number(m[2]), generationId: m[3] } : null;
}

/** Applies one page of events to the store; returns the generations it changed. */
async function applyEvents(
  backend: Backend,
  store: GenerationStore,
  events: StowageEvent[],
  linkSeconds: number,
): Promise<Generation[]> {
  // Final state of each generation touched by this page, in event order.
  const latest = new Map<string, { userId: string; path: string; present: boolean }>();
  for (const e of events) {
    if (e.bucket !== CODE_BUCKET) continue;
    if (e.kind === "moved" && e.fromBucket === CODE_BUCKET && e.fromPath && parse(e.fromPath)) {
      latest.set(`${e.userId}/${e.fromPath}`, {
        userId: e.userId,
        path: e.fromPath,
        present: false,
      });
    }
    if (!parse(e.path)) continue;
    latest.set(`${e.userId}/${e.path}`, {
      userId: e.userId,
      path: e.path,
      present: e.kind !== "deleted",
    });
  }
  // One signing call per user for every generation that is there.
  const byUser = new Map<string, string[]>();
  for (const g of latest.values()) {
    if (g.present) byUser.set(g.userId, [...(byUser.get(g.userId) ?? []), g.path]);
  }
  const links = new Map<string, { signedUrl: string; expiresAt: string } | null>();
  for (const [userId, paths] of byUser) {
    const urls = await backend.stowage.downloadUrls({
      bucket: CODE_BUCKET,
      paths,
      userId,
      expiresIn: linkSeconds,
    });
    // A file deleted since the event has no link (`not_found`): a later event says so.
    for (const u of urls) links.set(`${userId}/${u.path}`, "signedUrl" in u ? u : null);
  }
  const changed: Generation[] = [];
  for (const [key, g] of latest) {
    const p = parse(g.path)!;
    const before = await store.get(g.userId, g.path);
    const link = g.present ? links.get(key) ?? null : null;
    const next: Generation = {
      userId: g.userId,
      ...p,
      path: g.path,
      uploaded: link !== null,
      downloadUrl: link?.signedUrl ?? null,
      expiresAt: link?.expiresAt ?? null,
      error: link ? null : before?.error ?? null,
    };
    await store.put(next);
    changed.push(next);
  }
  return changed;
}

/**
 * Reads every event after the saved cursor, page by page, marking generations uploaded
 * (created, overwritten, moved here) or not (deleted, moved away), and saves the cursor after
 * each page. A cursor whose event was pruned (older than the retention: `404 not_found`)
 * restarts from 0, that is from the oldest event kept; marking twice is harmless.
 * @param options.userId follow one user's events only (default: every user's)
 * @returns the generations changed and the events read
 */
export async function processEvents(
  backend: Backend,
  store: GenerationStore,
  cursor: CursorStore,
  options: { userId?: string; limit?: number; linkSeconds?: number } = {},
): Promise<{ events: number; changed: Generation[] }> {
  let after = await cursor.load();
  let events = 0;
  const changed: Generation[] = [];
  for (;;) {
    let page;
    try {
      page = await eventsAfter(backend, {
        after,
        limit: options.limit ?? 1000,
        userId: options.userId,
      });
    } catch (error) {
      if (error instanceof StowageError && error.code === "not_found" && after !== 0) {
        after = 0;
        continue;
      }
      throw error;
    }
    changed.push(
      ...await applyEvents(backend, store, page.events, options.linkSeconds ?? LINK_SECONDS),
    );
    events += page.events.length;
    after = page.next;
    await cursor.save(after);
    if (!page.hasMore) return { events, changed };
  }
}

/**
 * The worker: {@link processEvents} again and again, waiting `idleMs` when there is nothing
 * new, until `signal` fires. (A Database Webhook or a Realtime subscription can wake it
 * sooner: see docs/backends.md.)
 */
export async function follow(
  backend: Backend,
  store: GenerationStore,
  cursor: CursorStore,
  options: {
    signal: AbortSignal;
    idleMs?: number;
    onChange?: (generation: Generation) => void;
    userId?: string;
  },
): Promise<void> {
  while (!options.signal.aborted) {
    const { events, changed } = await processEvents(backend, store, cursor, {
      userId: options.userId,
    });
    changed.forEach((g) => options.onChange?.(g));
    if (events === 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.idleMs ?? 1000);
        options.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const stateAt = args.indexOf("--state");
  const cursor: CursorStore = stateAt >= 0
    ? new FileCursor(args.splice(stateAt, 2)[1])
    : new MemoryCursor();
  const [command, userId, projectId, version, file] = args;
  const backend = connect(configFromEnv());
  const store = new MemoryGenerations();
  const stop = new AbortController();
  Deno.addSignalListener("SIGINT", () => stop.abort());
  if (command === "upload" && userId && projectId && version && file) {
    const { upload, generation } = await saveGeneration(backend, store, {
      userId,
      projectId,
      version: Number(version),
      generationId: crypto.randomUUID().slice(0, 8),
      tarball: new Blob([await Deno.readFile(file)], { type: "application/gzip" }),
    });
    console.error(JSON.stringify(generation)); // what the API answers at once
    await upload;
    const failed = (await store.get(userId, generation.path))?.error;
    if (failed) {
      console.log(JSON.stringify(await store.get(userId, generation.path)));
      Deno.exit(1);
    }
    // Follow only this user's events until this generation is marked (or Ctrl-C).
    await follow(backend, store, cursor, {
      signal: stop.signal,
      userId,
      idleMs: 200,
      onChange: (g) => {
        if (g.path === generation.path && g.uploaded) stop.abort();
      },
    });
    console.log(JSON.stringify(await store.get(userId, generation.path)));
  } else if (command === "follow") {
    await follow(backend, store, cursor, {
      signal: stop.signal,
      onChange: (g) => console.log(JSON.stringify(g)),
    });
  } else {
    console.error(
      "usage: codebegen-uploads.ts upload <userId> <projectId> <version> <file.tar.gz> | follow [--state file]",
    );
    Deno.exit(2);
  }
}
