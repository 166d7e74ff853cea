/**
 * @module Recipe (c), the audio app: the backend stores generated audio for a
 * user under `<uid>/<projectId>/<chapterId>/<sectionId>/` in `audiofiles` (50
 * MB per file, audio types only, counted in the user's quota), and hands out
 * signed playback URLs for a user's files: a section, a chapter or a whole
 * project in one answer, signed in bulk (`POST /downloads`, up to 1,000 paths
 * per call, one Storage call each) instead of one request per file. A path
 * that is not the user's (another user's, or gone) gets `not_found` in its
 * place: a backend acting for a user reaches that user's home only.
 *
 * Run it (backend environment: SUPABASE_URL, SUPABASE_SECRET_KEY):
 *
 *     deno run -A examples/backends/audio-playback.ts playlist <userId> <projectId> [chapterId] [sectionId]
 *     deno run -A examples/backends/audio-playback.ts sign <userId> <path>...
 */
import {
  type Backend,
  configFromEnv,
  connect,
  listForUser,
  uploadForUser,
  type UploadOutcome,
} from "./backend.ts";
import type { DownloadLink, ListedFile } from "../../clients/js/mod.ts";

/** The audio app's bucket: a user's files live under `<uid>/`. */
export const AUDIO_BUCKET = "audiofiles";
/** Playback links live one hour unless asked otherwise. */
export const PLAYBACK_SECONDS = 3600;

/** Where audio lives: a project, optionally narrowed to a chapter and a section. */
export interface AudioScope {
  projectId: string;
  chapterId?: string;
  sectionId?: string;
}

/** One playable file. */
export interface Track {
  path: string;
  name: string;
  size: number;
  contentType: string | null;
  url: string;
  expiresAt: string;
}

function folderOf(scope: AudioScope): string {
  const parts = [scope.projectId, scope.chapterId, scope.sectionId];
  if (scope.sectionId && !scope.chapterId) throw new Error("A section needs its chapter");
  const given = parts.filter((p): p is string => p !== undefined);
  for (const p of given) {
    if (!p || p.includes("/") || p === "." || p === "..") {
      throw new Error(`Invalid id "${p}": one path segment`);
    }
  }
  return given.map((p) => `${p}/`).join("");
}

/**
 * Stores audio files of one section for a user (e.g. what text-to-speech produced).
 * @throws StowageError `unsupported_media_type` (not audio), `file_too_large` (over 50 MB),
 *   `quota_exceeded`, `already_exists`... before any byte moves
 */
export async function saveSectionAudio(
  backend: Backend,
  userId: string,
  scope: Required<AudioScope>,
  files: { name: string; body: Blob; contentType?: string }[],
  options: { overwrite?: boolean } = {},
): Promise<UploadOutcome> {
  const folder = folderOf(scope);
  return await uploadForUser(
    backend,
    userId,
    AUDIO_BUCKET,
    files.map((f) => ({
      path: `${folder}${f.name}`,
      body: f.body,
      contentType: f.contentType ?? (f.body.type || "audio/mpeg"),
    })),
    { upsert: options.overwrite ?? false },
  );
}

/**
 * Signed playback URLs for any number of a user's paths, in input order, 1,000 per call.
 * Each entry is `{path, signedUrl, expiresAt}` or `{path, error: {code, message}}`.
 * @throws StowageError `not_found` (no such user), `invalid_path`, `unauthorized`...
 */
export async function playbackUrls(
  backend: Backend,
  userId: string,
  paths: string[],
  expiresIn = PLAYBACK_SECONDS,
): Promise<DownloadLink[]> {
  const links: DownloadLink[] = [];
  for (let start = 0; start < paths.length; start += 1000) {
    links.push(
      ...await backend.stowage.downloadUrls({
        bucket: AUDIO_BUCKET,
        paths: paths.slice(start, start + 1000),
        expiresIn,
        userId,
      }),
    );
  }
  return links;
}

/**
 * Every file of a project, chapter or section of a user, in path order, each with a signed
 * playback URL: the listing (every page) then the signing (every 1,000 paths). A file deleted
 * between the two is left out.
 */
export async function playlist(
  backend: Backend,
  userId: string,
  scope: AudioScope,
  expiresIn = PLAYBACK_SECONDS,
): Promise<Track[]> {
  const files: ListedFile[] = [];
  for await (
    const page of listForUser(backend, userId, {
      bucket: AUDIO_BUCKET,
      prefix: folderOf(scope),
      recursive: true,
      limit: 1000,
    })
  ) {
    files.push(...page.items);
  }
  const links = await playbackUrls(backend, userId, files.map((f) => f.path), expiresIn);
  const tracks: Track[] = [];
  files.forEach((f, i) => {
    const link = links[i];
    if ("signedUrl" in link) {
      tracks.push({
        path: f.path,
        name: f.name,
        size: f.size,
        contentType: f.contentType,
        url: link.signedUrl,
        expiresAt: link.expiresAt,
      });
    }
  });
  return tracks;
}

if (import.meta.main) {
  const [command, userId, ...rest] = Deno.args;
  const backend = connect(configFromEnv());
  if (command === "playlist" && userId && rest[0]) {
    const [projectId, chapterId, sectionId] = rest;
    console.log(
      JSON.stringify(await playlist(backend, userId, { projectId, chapterId, sectionId })),
    );
  } else if (command === "sign" && userId && rest.length) {
    console.log(JSON.stringify(await playbackUrls(backend, userId, rest)));
  } else {
    console.error(
      "usage: audio-playback.ts playlist <userId> <projectId> [chapterId] [sectionId] | sign <userId> <path>...",
    );
    Deno.exit(2);
  }
}
