// Resumable lesson upload with tus-js-client against /api/v1/uploads/ (the
// server is tusd, in internal/upload). A 2 GB lesson over a flaky school link
// goes up in 8 MB chunks, retries with back-off, and after a browser restart
// resumes where it stopped: tus-js-client keeps the upload URL in localStorage
// under the file's fingerprint (name, type, size, modification time).
import {
  type DetailedError,
  type HttpRequest,
  type PreviousUpload,
  Upload,
  type UploadOptions,
} from 'tus-js-client';

export const UPLOAD_ENDPOINT = '/api/v1/uploads/';
/** Chunk size of each PATCH: small enough that a dropped link loses little. */
export const CHUNK_SIZE = 8 * 1024 * 1024;
/** Waits before each retry, in ms; after the last one the upload fails. */
export const RETRY_DELAYS = [0, 1000, 3000, 5000, 10000, 20000];

/** Extra headers for every request: Authorization for a token, or X-CSRF-Token for a session. */
export type HeaderHook = () => Record<string, string>;

export interface UploadProgress {
  sent: number;
  total: number;
  /** 0-100, one decimal. */
  percent: number;
}

/** The tus metadata of a lesson: the file's name, and the title (the name without extension when empty). */
export function lessonMetadata(filename: string, title: string): { filename: string; title: string } {
  const name = filename.split(/[/\\]/).pop()?.trim() ?? '';
  let t = title.trim();
  if (t === '') {
    const dot = name.lastIndexOf('.');
    t = dot > 0 ? name.slice(0, dot) : name;
  }
  return { filename: name, title: t };
}

export function progressOf(sent: number, total: number): UploadProgress {
  const pct = total > 0 ? Math.min(100, Math.max(0, (sent / total) * 100)) : 0;
  return { sent, total, percent: Math.floor(pct * 10) / 10 };
}

/** The most recent of the uploads tus-js-client remembers for a file, or null. */
export function latestPrevious(list: PreviousUpload[]): PreviousUpload | null {
  let best: PreviousUpload | null = null;
  for (const p of list) {
    if (!p.uploadUrl) continue;
    if (best === null || Date.parse(p.creationTime) > Date.parse(best.creationTime)) best = p;
  }
  return best;
}

/** What an upload failure means for the user, in Chinese and English. */
export function uploadErrorMessage(status: number, body: string, maxSize?: number): string {
  // tusd's errors are "ERR_CODE: message"; ours put the probe's reason there.
  const message = body.replace(/^ERR_[A-Z_]+:\s*/, '').trim();
  if (status === 422 && message !== '') return message;
  if (status === 413) {
    const limit = maxSize ? `（上限 ${formatGiB(maxSize)} / limit ${formatGiB(maxSize)}）` : '';
    return `文件太大 / the file is too large${limit}`;
  }
  if (status === 401) return '请先登录 / sign in first';
  if (status === 403) return '没有上传权限，或登录已过期 / not allowed to upload, or your session expired';
  if (status === 0) return '网络中断，请稍后继续 / the network is down; resume later';
  // Another tusd error (a 409 offset mismatch, 423 locked...): its message is plain English.
  if (/^ERR_[A-Z_]+:/.test(body) && message !== '' && message.length < 300) return message;
  return `上传失败 / upload failed (HTTP ${status})`;
}

function formatGiB(bytes: number): string {
  return `${(bytes / 1024 ** 3).toFixed(bytes % 1024 ** 3 === 0 ? 0 : 1)} GiB`;
}

export interface LessonUploadOptions {
  title: string;
  headers?: HeaderHook;
  onProgress?: (p: UploadProgress) => void;
  /** Called once the server has the upload's URL (it survives a restart). */
  onUrl?: (url: string) => void;
  endpoint?: string;
}

/** tus-js-client's options for a lesson upload. */
export function tusOptions(filename: string, size: number, o: LessonUploadOptions): UploadOptions {
  return {
    endpoint: o.endpoint ?? UPLOAD_ENDPOINT,
    chunkSize: CHUNK_SIZE,
    retryDelays: RETRY_DELAYS,
    uploadSize: size,
    metadata: lessonMetadata(filename, o.title),
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    // Evaluated per request: a CSRF token or a session can change during a long upload.
    onBeforeRequest: (req: HttpRequest) => {
      for (const [k, v] of Object.entries(o.headers?.() ?? {})) req.setHeader(k, v);
    },
    onProgress: (sent: number, total: number) => o.onProgress?.(progressOf(sent, total)),
  };
}

export interface LessonUpload {
  /** Resolves with the upload URL when every byte is on the server; rejects with a readable message. */
  done: Promise<string>;
  /** Pauses: the upload can be resumed later, even after a restart. */
  pause(): Promise<void>;
  /** Cancels and deletes the partial upload on the server. */
  cancel(): Promise<void>;
}

/** Uploads file as a lesson, resuming an earlier upload of the same file if there is one. */
export function uploadLesson(file: File, o: LessonUploadOptions): LessonUpload {
  let upload!: Upload;
  const done = new Promise<string>((resolve, reject) => {
    upload = new Upload(file, {
      ...tusOptions(file.name, file.size, o),
      onUploadUrlAvailable: () => {
        if (upload.url) o.onUrl?.(upload.url);
      },
      onSuccess: () => resolve(upload.url ?? ''),
      onError: (err: Error | DetailedError) => {
        const res = 'originalResponse' in err ? err.originalResponse : null;
        reject(new Error(uploadErrorMessage(res ? res.getStatus() : 0, res ? res.getBody() : '')));
      },
    });
  });
  void upload
    .findPreviousUploads()
    .then((list) => {
      const prev = latestPrevious(list);
      if (prev) upload.resumeFromPreviousUpload(prev);
    })
    .catch(() => undefined) // no storage: start anew
    .finally(() => upload.start());
  return { done, pause: () => upload.abort(false), cancel: () => upload.abort(true) };
}

/** An upload's state on the server (GET on its URL). */
export interface UploadState {
  id: string;
  /** uploading, processing (complete, being added to the library), accepted, or rejected. */
  state: 'uploading' | 'processing' | 'accepted' | 'rejected';
  offset: number;
  size: number;
  filename?: string;
  title?: string;
  reason?: string;
}

export function parseUploadState(body: unknown): UploadState | null {
  const b = body as Record<string, unknown> | null;
  if (!b || typeof b.id !== 'string') return null;
  const states = ['uploading', 'processing', 'accepted', 'rejected'];
  if (typeof b.state !== 'string' || !states.includes(b.state)) return null;
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const out: UploadState = { id: b.id, state: b.state as UploadState['state'], offset: num(b.offset), size: num(b.size) };
  const filename = str(b.filename);
  const title = str(b.title);
  const reason = str(b.reason);
  if (filename) out.filename = filename;
  if (title) out.title = title;
  if (reason) out.reason = reason;
  return out;
}

/** Fetches an upload's state, to show "processing" until the lesson is in the library. */
export async function fetchUploadState(url: string, headers?: HeaderHook): Promise<UploadState | null> {
  const res = await fetch(url, { headers: { Accept: 'application/json', ...(headers?.() ?? {}) } });
  if (!res.ok) return null;
  return parseUploadState(await res.json());
}
