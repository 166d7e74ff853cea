/**
 * @module The benchmark scenarios of issue 9, in run order. The migration
 * scenario runs `bench/migrate.ts` (the CLI's own benchmark, as a child
 * process) when that file exists; the scale scenario (issue 20) runs last.
 */
import type { Scenario } from "../lib/scenario.ts";
import { recursiveListing } from "./recursive-listing.ts";
import { deepPage } from "./deep-page.ts";
import { folderDelete } from "./folder-delete.ts";
import { uploadSigning } from "./upload-signing.ts";
import { bulkDownloads } from "./bulk-downloads.ts";
import { assistantLookup } from "./assistant-lookup.ts";
import { migration, migrationAvailable } from "./migration.ts";
import { scale } from "./scale.ts";

/** Every scenario, the migration one only when `bench/migrate.ts` exists, scale last. */
export async function scenarios(): Promise<Scenario[]> {
  const list: Scenario[] = [
    recursiveListing,
    deepPage,
    folderDelete,
    uploadSigning,
    bulkDownloads,
    assistantLookup,
  ];
  // Scale last: it loads the database with a million rows (removed at its end).
  return [...(await migrationAvailable()) ? [...list, migration] : list, scale];
}
