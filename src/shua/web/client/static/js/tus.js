// A small tus 1.0 client (core + creation) for /api/v1/uploads.
//
// POST Upload-Length → Location; PATCH chunks (application/offset+octet-stream) from the
// server's Upload-Offset; after any failure ask HEAD for the committed offset and go on from
// there. The upload URL is kept in localStorage under the file's fingerprint (name, size, type,
// modification time), so picking the same file after a reload resumes instead of restarting.
// XMLHttpRequest rather than fetch: it reports upload progress within a chunk.
import { ApiError, csrfToken } from "./shua.js";

const VERSION = "1.0.0";
const STORE = "shua.tus:";
const BACKOFF = [1000, 2000, 4000, 8000, 15000];
export const DEFAULT_CHUNK = 5 * 1024 * 1024;

export class Paused extends Error {}

export function fingerprint(file) {
  return `${STORE}${file.name}:${file.size}:${file.type}:${file.lastModified}`;
}

function remember(key, url) {
  try {
    if (url) localStorage.setItem(key, url);
    else localStorage.removeItem(key);
  } catch {
    /* storage disabled: uploads still work, they just restart after a reload */
  }
}

function recall(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function b64(text) {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export class TusUpload {
  /**
   * `onProgress(sent, total)` as bytes reach the server; `onState(state)` with one of
   * "starting", "uploading", "paused", "retrying", "done", "error".
   */
  constructor(file, { endpoint = "/api/v1/uploads", chunkSize = DEFAULT_CHUNK, onProgress, onState } = {}) {
    this.file = file;
    this.endpoint = endpoint;
    this.chunkSize = Math.max(1024, chunkSize);
    this.onProgress = onProgress || (() => {});
    this.onState = onState || (() => {});
    this.key = fingerprint(file);
    this.url = null;
    this.offset = 0;
    this.paused = false;
    this.xhr = null;
    this.wake = null;
  }

  get id() {
    return this.url ? this.url.split("/").pop() : null;
  }

  /** Upload everything; resolves with the upload id, rejects with an ApiError it cannot get past. */
  async start() {
    this.onState("starting");
    let failures = 0;
    for (;;) {
      try {
        await this.waitWhilePaused();
        if (!this.url) await this.locate();
        if (this.offset >= this.file.size) break;
        this.onState("uploading");
        await this.patch();
        failures = 0;
      } catch (error) {
        if (error instanceof Paused) {
          // Part of the chunk may have arrived before the pause: ask where to go on from.
          await this.waitWhilePaused();
          await this.syncOffset().catch(() => {});
          continue;
        }
        if (!(error instanceof ApiError)) throw error;
        if ([404, 410].includes(error.status)) {
          // Expired or gone: forget it and start a fresh upload of the same file.
          remember(this.key, null);
          this.url = null;
          this.offset = 0;
          if (++failures > 2) throw error;
          continue;
        }
        const retryable = error.status === 0 || error.status === 409 || error.status === 423 || error.status >= 500;
        if (!retryable || failures >= BACKOFF.length) {
          this.onState("error");
          throw error;
        }
        this.onState("retrying");
        await sleep(BACKOFF[failures++]);
        await this.syncOffset().catch(() => {}); // the next round retries the network anyway
      }
    }
    this.onProgress(this.file.size, this.file.size);
    this.onState("done");
    return this.id;
  }

  pause() {
    this.paused = true;
    this.xhr?.abort();
    this.onState("paused");
  }

  resume() {
    this.paused = false;
    this.wake?.();
  }

  /** Forget the stored URL once the upload has been posted. */
  forget() {
    remember(this.key, null);
  }

  async waitWhilePaused() {
    while (this.paused) await new Promise((resolve) => (this.wake = resolve));
  }

  /** Resume a remembered upload of this file, or create one. */
  async locate() {
    const stored = recall(this.key);
    if (stored) {
      this.url = stored;
      try {
        await this.syncOffset();
        return;
      } catch (error) {
        if (!(error instanceof ApiError) || ![403, 404, 410].includes(error.status)) throw error;
        this.url = null;
        remember(this.key, null);
      }
    }
    const meta = `filename ${b64(this.file.name)},filetype ${b64(this.file.type || "application/octet-stream")}`;
    const xhr = await this.send("POST", this.endpoint, {
      "Upload-Length": String(this.file.size),
      "Upload-Metadata": meta,
    });
    this.url = new URL(xhr.getResponseHeader("Location"), location.href).pathname;
    this.offset = 0;
    remember(this.key, this.url);
  }

  async syncOffset() {
    const xhr = await this.send("HEAD", this.url, {});
    this.offset = Number(xhr.getResponseHeader("Upload-Offset")) || 0;
    this.onProgress(this.offset, this.file.size);
  }

  async patch() {
    const start = this.offset;
    const chunk = this.file.slice(start, Math.min(this.file.size, start + this.chunkSize));
    const xhr = await this.send(
      "PATCH",
      this.url,
      { "Upload-Offset": String(start), "Content-Type": "application/offset+octet-stream" },
      chunk,
      (loaded) => this.onProgress(start + loaded, this.file.size),
    );
    this.offset = Number(xhr.getResponseHeader("Upload-Offset"));
    this.onProgress(this.offset, this.file.size);
  }

  send(method, url, headers, body = null, progress = null) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.xhr = xhr;
      xhr.open(method, url);
      xhr.setRequestHeader("Tus-Resumable", VERSION);
      xhr.setRequestHeader("Accept", "application/json");
      if (method !== "HEAD") xhr.setRequestHeader("X-CSRF-Token", csrfToken());
      for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
      if (progress) xhr.upload.addEventListener("progress", (event) => progress(event.loaded));
      xhr.addEventListener("load", () => {
        this.xhr = null;
        if (xhr.status >= 200 && xhr.status < 300) return resolve(xhr);
        let problem = null;
        try {
          problem = JSON.parse(xhr.responseText);
        } catch {
          /* HEAD has no body */
        }
        reject(new ApiError(xhr.status, problem || { code: "http.error" }));
      });
      xhr.addEventListener("error", () => reject(new ApiError(0, { code: "network" })));
      xhr.addEventListener("timeout", () => reject(new ApiError(0, { code: "network" })));
      xhr.addEventListener("abort", () => reject(this.paused ? new Paused() : new ApiError(0, { code: "network" })));
      xhr.send(body);
    });
  }
}
