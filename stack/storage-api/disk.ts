/**
 * @module The file backend of the Storage-API double: one file per object version at
 * `<dataDir>/<bucket>/<key>/<version>` (the real file backend's layout), written from a
 * stream while hashing (md5, the quoted `eTag`), read back as a stream, with Range support.
 */
import { createHash } from "node:crypto";
import { dirname, join } from "node:path";
import { ERRORS, StorageError } from "./errors.ts";

/** What a finished write produced. */
export interface Written {
  size: number;
  /** md5 hex, unquoted. */
  md5: string;
  lastModified: Date;
}

/** Where versions live and how they are written, read and removed. */
export class Disk {
  /** @param dataDir root folder, created on demand */
  constructor(readonly dataDir: string) {
    if (!dataDir) throw new Error("Disk: dataDir is required");
  }

  /**
   * The file of one version. Segments `.`/`..` are refused with the real file backend's
   * message (it names its internal path `<s3bucket>/<tenant>/<bucket>/<key>/<version>`).
   */
  path(bucket: string, key: string, version: string): string {
    const segments = [bucket, ...key.split("/"), version];
    if (segments.some((s) => s === "." || s === "..")) {
      throw ERRORS.invalidKey(`stub/stub/${bucket}/${key}/${version} contains dot path segment`);
    }
    return join(this.dataDir, ...segments.filter((s) => s !== ""));
  }

  /**
   * Streams `body` into a new version file, hashing as it goes.
   * @param limit bytes allowed; more throws `EntityTooLarge` after the file was removed
   */
  async write(
    bucket: string,
    key: string,
    version: string,
    body: ReadableStream<Uint8Array> | null,
    limit = Number.POSITIVE_INFINITY,
  ): Promise<Written> {
    const file = this.path(bucket, key, version);
    const hash = createHash("md5");
    let size = 0;
    const out = await this.create(file);
    try {
      if (body) {
        for await (const chunk of body) {
          size += chunk.byteLength;
          if (size > limit) throw ERRORS.entityTooLarge();
          hash.update(chunk);
          let written = 0;
          while (written < chunk.byteLength) written += await out.write(chunk.subarray(written));
        }
      }
    } catch (e) {
      out.close();
      await this.remove(bucket, key, version);
      if (e instanceof StorageError) throw e;
      throw ERRORS.noContent();
    }
    out.close();
    const stat = await Deno.stat(file);
    return { size, md5: hash.digest("hex"), lastModified: stat.mtime ?? new Date() };
  }

  /**
   * Moves a finished file (a TUS upload's bytes) into place as a version file.
   * @returns the version file's path
   */
  async place(source: string, bucket: string, key: string, version: string): Promise<string> {
    const file = this.path(bucket, key, version);
    await intoFolder(file, () => Deno.rename(source, file));
    return file;
  }

  /** Creates a new version file, and its folders. */
  private create(file: string): Promise<Deno.FsFile> {
    return intoFolder(file, () => Deno.open(file, { write: true, createNew: true }));
  }

  /** Copies one version's bytes to another (move and copy). */
  async copy(
    from: { bucket: string; key: string; version: string },
    to: { bucket: string; key: string; version: string },
  ): Promise<Written> {
    const file = await Deno.open(this.path(from.bucket, from.key, from.version), { read: true });
    try {
      return await this.write(to.bucket, to.key, to.version, file.readable);
    } catch (e) {
      // A write that failed before reading (its file could not be made) leaves the source
      // open; one that failed while reading has closed it already.
      try {
        file.close();
      } catch { /* closed */ }
      throw e;
    }
  }

  /** Opens a version for reading, or `null` when the file is missing. */
  async open(bucket: string, key: string, version: string): Promise<Deno.FsFile | null> {
    try {
      return await Deno.open(this.path(bucket, key, version), { read: true });
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
      throw e;
    }
  }

  /** Removes a version file and the folders it leaves empty (below the bucket). */
  async remove(bucket: string, key: string, version: string | null | undefined): Promise<void> {
    if (!version) return;
    let file: string;
    try {
      file = this.path(bucket, key, version);
    } catch {
      return;
    }
    try {
      await Deno.remove(file);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const stop = join(this.dataDir, bucket);
    for (let dir = dirname(file); dir.startsWith(stop) && dir !== stop; dir = dirname(dir)) {
      try {
        await Deno.remove(dir);
      } catch {
        break;
      }
    }
  }
}

/** A file stream limited to `[start, end]` (inclusive). */
export function rangeStream(
  file: Deno.FsFile,
  start: number,
  end: number,
): ReadableStream<Uint8Array> {
  let remaining = end - start + 1;
  let positioned = false;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (!positioned) {
        await file.seek(start, Deno.SeekMode.Start);
        positioned = true;
      }
      if (remaining <= 0) {
        file.close();
        controller.close();
        return;
      }
      const buf = new Uint8Array(Math.min(65536, remaining));
      const n = await file.read(buf);
      if (n === null) {
        file.close();
        controller.close();
        return;
      }
      remaining -= n;
      controller.enqueue(buf.subarray(0, n));
    },
    cancel() {
      try {
        file.close();
      } catch { /* already closed */ }
    },
  });
}

/**
 * Makes `file`'s folders and runs `make` to put the file there. A concurrent `remove()` of
 * another version prunes the folders it leaves empty, and can take the ones just made before
 * the file is in them (a file in a folder stops any later prune): the recursive mkdir then
 * reports AlreadyExists for a folder gone between "exists" and "is a folder", or `make`
 * reports NotFound. Both mean pruned: make the folders again.
 */
async function intoFolder<T>(file: string, make: () => Promise<T>): Promise<T> {
  for (let attempt = 1;; attempt++) {
    try {
      await Deno.mkdir(dirname(file), { recursive: true });
      return await make();
    } catch (e) {
      const pruned = e instanceof Deno.errors.NotFound ||
        (e instanceof Deno.errors.AlreadyExists && !(await exists(file)));
      if (!pruned || attempt >= 50) throw e;
    }
  }
}

/** Whether a path exists (a file or a folder). */
async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return false;
    throw e;
  }
}
