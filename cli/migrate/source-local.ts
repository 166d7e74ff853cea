/**
 * @module A local directory as a migration source, that never reads or deletes a file
 * outside it.
 *
 * The listing records the device and inode of every folder and file it sees and follows
 * no symlink (a symlink is listed as refused, `source_symlink`). Every later open and
 * delete walks the key's path again without following links (lstat of each component,
 * each the same folder as listed) and then checks the file itself: an open compares the
 * opened handle's device and inode (fstat) with the listed file, a delete re-checks the
 * last component just before removing it. So a folder swapped for a symlink after the
 * listing (or a file replaced) fails that one object with `source_replaced` instead of
 * reading or deleting what the link points to.
 *
 * What is left: between the last check and the `unlink` of a delete, a few microseconds
 * in which a folder on the path could still be swapped (Deno has no `unlinkat`). The walk
 * and the removal run synchronously, so nothing of ours interleaves there.
 */
import { join, resolve, sep as SEPARATOR } from "node:path";
import type { SourceObject } from "./planner.ts";
import { type OpenedObject, type Source, SourceRefusal } from "./source.ts";
import { CliError } from "../lib/errors.ts";

/** What identifies a file or folder: the same device and inode is the same file. */
interface Identity {
  dev: number;
  ino: number | null;
}

function identity(info: Deno.FileInfo): Identity {
  return { dev: info.dev, ino: info.ino };
}

function same(a: Identity, b: Identity): boolean {
  return a.dev === b.dev && a.ino === b.ino;
}

/** Reads every regular file below `root`; keys are `/`-separated paths relative to it. */
export class LocalSource implements Source {
  readonly description: string;
  readonly deletable = true;
  readonly #root: string;
  /** The root with its own links resolved (the user chose it): what every walk starts from. */
  #real: string | null = null;
  /** Listed folders by relative path (`""` is the root), listed files by key. */
  readonly #folders = new Map<string, Identity>();
  readonly #files = new Map<string, Identity>();

  /** @param root directory to migrate (made absolute) */
  constructor(root: string) {
    this.#root = resolve(root);
    this.description = this.#root;
  }

  /** Checks that the root is a readable directory. */
  async check(): Promise<void> {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(this.#root);
    } catch (error) {
      throw new CliError("source_unavailable", `Cannot read source directory "${this.#root}"`, {
        cause: error,
      });
    }
    if (!info.isDirectory) {
      throw new CliError("source_unavailable", `Source "${this.#root}" is not a directory`);
    }
  }

  /**
   * Lists every regular file (keys sorted by the planner). Symlinks are never followed (a
   * link to a parent would loop, a link outside the root is not ours): each is listed as
   * refused, `source_symlink`, and so is anything that is no file (`source_not_file`).
   */
  async *list(): AsyncIterable<SourceObject> {
    const real = await Deno.realPath(this.#root);
    this.#real = real;
    this.#folders.clear();
    this.#files.clear();
    this.#folders.set("", identity(await Deno.lstat(real)));
    const stack = [""];
    while (stack.length > 0) {
      const dir = stack.pop()!;
      for await (const entry of Deno.readDir(this.#abs(dir))) {
        const key = dir === "" ? entry.name : `${dir}/${entry.name}`;
        const info = await Deno.lstat(this.#abs(key));
        if (info.isSymlink) {
          yield refused(key, "source_symlink", "Symlink: not followed, so not migrated");
        } else if (info.isDirectory) {
          this.#folders.set(key, identity(info));
          stack.push(key);
        } else if (info.isFile) {
          this.#files.set(key, identity(info));
          yield { key, size: info.size, stamp: `${info.mtime?.getTime() ?? 0}:${info.size}` };
        } else {
          yield refused(key, "source_not_file", "Not a regular file (a device, socket or pipe)");
        }
      }
    }
  }

  /**
   * Opens a listed file, never through a link.
   * @throws SourceRefusal `source_replaced` when the file or a folder on its path is no
   *   longer what the listing saw; `source_not_listed` for a key the listing did not give
   */
  async open(key: string): Promise<OpenedObject> {
    const listed = this.#listed(key);
    const path = this.#walk(key);
    // Checked before opening too: opening a pipe put in the file's place would block.
    const before = Deno.lstatSync(path);
    if (!before.isFile || !same(identity(before), listed)) {
      throw replaced(key, "the file is not the file listed");
    }
    const file = await Deno.open(path, { read: true });
    try {
      const info = await file.stat();
      if (!info.isFile || !same(identity(info), listed)) {
        throw replaced(key, "the file opened is not the file listed");
      }
    } catch (error) {
      file.close();
      throw error;
    }
    return { body: file.readable };
  }

  /**
   * Deletes a listed file after re-checking, without following links, that its path
   * still leads to the very file listed.
   * @throws SourceRefusal `source_replaced`, `source_not_listed`
   */
  remove(key: string): Promise<void> {
    try {
      const listed = this.#listed(key);
      const path = this.#walk(key);
      const info = Deno.lstatSync(path);
      if (!info.isFile || !same(identity(info), listed)) {
        throw replaced(key, "the file is not the file listed");
      }
      Deno.removeSync(path);
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
  }

  close(): void {}

  #abs(relative: string): string {
    return relative === "" ? this.#real! : join(this.#real!, ...relative.split("/"));
  }

  #listed(key: string): Identity {
    const listed = this.#files.get(key);
    if (listed === undefined || this.#real === null) {
      throw new SourceRefusal(
        "source_not_listed",
        `Cannot use "${key}": the listing of ${this.#root} did not give it`,
      );
    }
    return listed;
  }

  /**
   * Checks every folder from the root down to the key's parent: no symlink, the same
   * folder as listed. Returns the file's absolute path. Synchronous, so the checks and
   * what the caller does next are not interleaved with other work of this process.
   */
  #walk(key: string): string {
    const segments = key.split("/");
    for (let i = 0; i < segments.length; i++) {
      const folder = segments.slice(0, i).join("/");
      let info: Deno.FileInfo;
      try {
        info = Deno.lstatSync(this.#abs(folder));
      } catch (error) {
        throw replaced(key, `folder "${folder || "."}" is gone`, error);
      }
      if (info.isSymlink) throw replaced(key, `folder "${folder}" is now a symlink`);
      const listed = this.#folders.get(folder);
      if (!info.isDirectory || listed === undefined || !same(identity(info), listed)) {
        throw replaced(key, `folder "${folder || "."}" is not the folder listed`);
      }
    }
    const path = this.#abs(key);
    if (!path.startsWith(this.#real! + SEPARATOR)) {
      throw new SourceRefusal("source_not_listed", `Key "${key}" leaves the source directory`);
    }
    return path;
  }
}

function refused(key: string, code: string, message: string): SourceObject {
  return { key, size: 0, stamp: "", refusal: { code, message } };
}

function replaced(key: string, why: string, cause?: unknown): SourceRefusal {
  return new SourceRefusal(
    "source_replaced",
    `Cannot use "${key}": ${why} since the listing (not read, not deleted)`,
    { cause },
  );
}
