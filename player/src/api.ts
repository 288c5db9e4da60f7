// The classcast REST API (/api/v1), as the pages use it.

/** An API error: the HTTP status and the server's {"error":{"code","message"}}. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string | null,
    message: string,
  ) {
    super(message);
  }
}

/** GETs /api/v1<path> as JSON, with "Authorization: Bearer" when a token is given. */
export async function apiGet<T>(path: string, token?: string | null, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/api/v1${path}`, {
    headers: { Accept: 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    signal: signal ?? null,
  });
  const text = await res.text();
  if (!res.ok) {
    let code: string | null = null;
    let message = `HTTP ${res.status}`;
    try {
      const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
      if (typeof body.error?.code === 'string') code = body.error.code;
      if (typeof body.error?.message === 'string') message = body.error.message;
    } catch {
      // not JSON: keep the status
    }
    throw new ApiError(res.status, code, message);
  }
  return JSON.parse(text) as T;
}

/** One stream as GET /api/v1/streams lists it. */
export interface StreamInfo {
  path: string;
  live: boolean;
  viewers: number;
  /** Codec names, e.g. ["H264", "MPEG4Audio"]. */
  codecs: string[];
  /** How the stream arrives: "rtsp-publish", "rtsp-pull", "relay"... */
  source: string;
}

/**
 * Reads the body of GET /api/v1/streams, skipping entries without a path and
 * tolerating missing fields, and sorts live streams first, then by path.
 */
export function parseStreams(body: unknown): StreamInfo[] {
  const list = (body as { streams?: unknown })?.streams;
  if (!Array.isArray(list)) return [];
  const out: StreamInfo[] = [];
  for (const item of list as Record<string, unknown>[]) {
    if (!item || typeof item.path !== 'string' || item.path === '') continue;
    const tracks = Array.isArray(item.tracks) ? (item.tracks as Record<string, unknown>[]) : [];
    out.push({
      path: item.path,
      live: item.live === true,
      viewers: typeof item.viewers === 'number' ? item.viewers : 0,
      codecs: tracks.map((tr) => (typeof tr?.codec === 'string' ? tr.codec : '')).filter((c) => c !== ''),
      source: typeof item.source === 'string' ? item.source : '',
    });
  }
  return out.sort((a, b) => Number(b.live) - Number(a.live) || a.path.localeCompare(b.path));
}
