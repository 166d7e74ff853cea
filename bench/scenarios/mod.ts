/**
 * @module The benchmark scenarios of issue 9, in run order. The migration
 * scenario comes from `bench/migrate.ts` (the CLI's) when that file exists
 * and exports `migration` (a {@link Scenario}).
 */
import type { Scenario } from "../lib/scenario.ts";
import { recursiveListing } from "./recursive-listing.ts";
import { deepPage } from "./deep-page.ts";
import { folderDelete } from "./folder-delete.ts";
import { uploadSigning } from "./upload-signing.ts";
import { bulkDownloads } from "./bulk-downloads.ts";
import { assistantLookup } from "./assistant-lookup.ts";

/** Every scenario, the migration one only when `bench/migrate.ts` provides it. */
export async function scenarios(): Promise<Scenario[]> {
  const list: Scenario[] = [
    recursiveListing,
    deepPage,
    folderDelete,
    uploadSigning,
    bulkDownloads,
    assistantLookup,
  ];
  const migrate = new URL("../migrate.ts", import.meta.url);
  try {
    await Deno.stat(migrate);
  } catch {
    return list;
  }
  const mod = await import(migrate.href) as { migration?: Scenario };
  if (!mod.migration) throw new Error(`${migrate.pathname} does not export "migration"`);
  return [...list, mod.migration];
}
