/**
 * @module The page's upload area: a drop zone and a file input; each file
 * gets a row with a progress bar, then "Uploaded" or the server's refusal in
 * words. Files upload one by one into the folder shown. A file above 6 MiB
 * goes resumably (TUS, 6 MiB chunks) and its row has Pause/Resume and Cancel
 * buttons; an upload broken off (a closed tab, a lost connection) continues
 * where it stopped when the same file is chosen again for the same folder.
 */
import {
  RESUMABLE_THRESHOLD,
  type Stowage,
  type UploadHandle,
  type UploadResult,
} from "@stowage/client";
import { byId, h } from "./dom.ts";
import { explain, formatBytes } from "./format.ts";

/** Where uploads go and what to do after each one. */
export interface UploadTarget {
  bucket: () => string;
  prefix: () => string;
  onUploaded: () => Promise<void> | void;
  onFailed: () => Promise<void> | void;
}

interface Row {
  li: HTMLLIElement;
  bar: HTMLProgressElement;
  status: HTMLElement;
  actions: HTMLElement;
}

function row(file: File): Row {
  const bar = h("progress", { max: "1", value: "0" });
  const status = h("span", { class: "status" }, "Waiting…");
  const actions = h("span", { class: "actions" });
  const li = h(
    "li",
    { class: "upload", "data-name": file.name, "data-state": "waiting" },
    h("span", { class: "name" }, file.name),
    h("span", { class: "size muted" }, formatBytes(file.size)),
    bar,
    status,
    actions,
  );
  return { li, bar, status, actions };
}

/** Pause/Resume and Cancel buttons for a resumable upload. */
function controls(r: Row, handle: UploadHandle<UploadResult>): void {
  const pause = h("button", { type: "button", class: "pause" }, "Pause");
  const cancel = h("button", { type: "button", class: "cancel" }, "Cancel");
  pause.onclick = async () => {
    if (handle.state === "paused") {
      handle.resume();
      r.li.dataset.state = "uploading";
      pause.textContent = "Pause";
      return;
    }
    pause.disabled = true;
    await handle.pause();
    pause.disabled = false;
    if ((handle.state as string) !== "paused") return; // it finished meanwhile
    r.li.dataset.state = "paused";
    pause.textContent = "Resume";
    r.status.textContent = `Paused at ${Math.round(r.bar.value * 100)} %`;
  };
  cancel.onclick = () => handle.abort();
  r.actions.replaceChildren(pause, cancel);
}

async function uploadOne(stowage: Stowage, file: File, target: UploadTarget): Promise<void> {
  const r = row(file);
  const { li, bar, status } = r;
  byId("uploads").prepend(li);
  li.dataset.state = "uploading";
  status.textContent = "Reserving…";
  const options = {
    bucket: target.bucket(),
    path: target.prefix() + file.name,
    onProgress: (p: { fraction: number }) => {
      bar.value = p.fraction;
      li.dataset.progress = String(Math.round(p.fraction * 100));
      if (li.dataset.state !== "paused") status.textContent = `${Math.round(p.fraction * 100)} %`;
    },
  };
  try {
    if (file.size > RESUMABLE_THRESHOLD) {
      li.dataset.resumable = "true";
      const handle = stowage.startUpload(file, options);
      controls(r, handle);
      try {
        await handle.done;
      } finally {
        r.actions.replaceChildren();
        if (handle.resumedFrom > 0) li.dataset.resumedFrom = String(handle.resumedFrom);
      }
    } else {
      await stowage.upload(file, { ...options, resumable: false });
    }
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
