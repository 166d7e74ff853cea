/**
 * @module The page's upload area: a drop zone and a file input; each file
 * gets a row with a progress bar, then "Uploaded" or the server's refusal in
 * words. Files upload one by one into the folder shown.
 */
import type { Stowage } from "../../clients/js/mod.ts";
import { byId, h } from "./dom.ts";
import { explain, formatBytes } from "./format.ts";

/** Where uploads go and what to do after each one. */
export interface UploadTarget {
  bucket: () => string;
  prefix: () => string;
  onUploaded: () => Promise<void> | void;
  onFailed: () => Promise<void> | void;
}

function row(file: File): { li: HTMLLIElement; bar: HTMLProgressElement; status: HTMLElement } {
  const bar = h("progress", { max: "1", value: "0" });
  const status = h("span", { class: "status" }, "Waiting…");
  const li = h(
    "li",
    { class: "upload", "data-name": file.name, "data-state": "waiting" },
    h("span", { class: "name" }, file.name),
    h("span", { class: "size muted" }, formatBytes(file.size)),
    bar,
    status,
  );
  return { li, bar, status };
}

async function uploadOne(stowage: Stowage, file: File, target: UploadTarget): Promise<void> {
  const { li, bar, status } = row(file);
  byId("uploads").prepend(li);
  li.dataset.state = "uploading";
  status.textContent = "Reserving…";
  try {
    await stowage.upload(file, {
      bucket: target.bucket(),
      path: target.prefix() + file.name,
      onProgress: (p) => {
        bar.value = p.fraction;
        li.dataset.progress = String(Math.round(p.fraction * 100));
        status.textContent = `${Math.round(p.fraction * 100)} %`;
      },
    });
    li.dataset.state = "done";
    status.textContent = "Uploaded";
    await target.onUploaded();
  } catch (error) {
    li.dataset.state = "error";
    status.textContent = explain(error, file.name);
    await target.onFailed();
  }
}

/** Wires the drop zone and the file input. */
export function setupUploads(stowage: Stowage, target: UploadTarget): void {
  const drop = byId("drop");
  const input = byId<HTMLInputElement>("file");
  let queue = Promise.resolve();
  const add = (files: FileList | null) => {
    for (const file of Array.from(files ?? [])) {
      queue = queue.then(() => uploadOne(stowage, file, target));
    }
  };
  input.addEventListener("change", () => {
    add(input.files);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (e) => {
      e.preventDefault();
      drop.classList.add("over");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    drop.addEventListener(type, () => drop.classList.remove("over"));
  }
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    add((e as DragEvent).dataTransfer?.files ?? null);
  });
}
