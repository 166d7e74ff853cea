/**
 * @module The run journal: one JSON line per finished object, appended beside the
 * plan as work completes, so a killed run resumes without redoing verified work.
 *
 * The journal is a record, not the source of truth: every run re-plans against the
 * bucket, so an upload that committed just before a kill is found there (same size
 * and MD5) and skipped, and one that did not commit is copied again. The journal
 * spares re-reading sources to checksum them, and tells `--delete-after` which
 * sources were verified.
 */

/** One journal line. */
export type JournalEntry =
  | {
    op: "copied";
    source: string;
    stamp: string;
    size: number;
    target: string;
    md5: string;
    sha256?: string;
    verify: "etag" | "full";
    at: string;
  }
  | { op: "deleted"; source: string; at: string }
  | { op: "failed"; source: string; target: string; code: string; message: string; at: string };

/** An append-only journal file. */
export class Journal {
  readonly path: string;
  #file: Deno.FsFile;
  #entries: JournalEntry[];
  #chain: Promise<void> = Promise.resolve();

  private constructor(path: string, file: Deno.FsFile, entries: JournalEntry[]) {
    this.path = path;
    this.#file = file;
    this.#entries = entries;
  }

  /**
   * Opens (creating) the journal at `path` and reads what earlier runs wrote.
   * A torn last line (a run killed mid-write) is ignored.
   */
  static async open(path: string): Promise<Journal> {
    const entries = await readJournal(path);
    const file = await Deno.open(path, { create: true, append: true });
    return new Journal(path, file, entries);
  }

  /** Every entry read at open and appended since. */
  get entries(): readonly JournalEntry[] {
    return this.#entries;
  }

  /** The MD5 an earlier run computed for this source version, if any. */
  checksum(source: string, stamp: string, size: number): string | undefined {
    for (let i = this.#entries.length - 1; i >= 0; i--) {
      const e = this.#entries[i];
      if (e.op === "copied" && e.source === source && e.stamp === stamp && e.size === size) {
        return e.md5;
      }
    }
    return undefined;
  }

  /** Appends one entry (writes are serialized; each line is written whole). */
  append(entry: JournalEntry): Promise<void> {
    this.#entries.push(entry);
    const line = new TextEncoder().encode(JSON.stringify(entry) + "\n");
    this.#chain = this.#chain.then(async () => {
      let written = 0;
      while (written < line.length) written += await this.#file.write(line.subarray(written));
    });
    return this.#chain;
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#chain;
    this.#file.close();
  }
}

/** Reads a journal file (missing file: no entries). */
export async function readJournal(path: string): Promise<JournalEntry[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  const lines = text.split("\n");
  const entries: JournalEntry[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    try {
      entries.push(JSON.parse(line) as JournalEntry);
    } catch (error) {
      // Only the last line may be torn by a kill; anything else is a damaged journal.
      if (i < lines.length - 1 && lines.slice(i + 1).some((l) => l.trim() !== "")) {
        throw new Error(`Cannot read journal "${path}": line ${i + 1} is not JSON`, {
          cause: error,
        });
      }
    }
  });
  return entries;
}
