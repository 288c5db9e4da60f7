// Stream paths name a live class, e.g. "school-a/room-101". The live page finds
// its path in the page URL and turns it into the WHEP endpoint.

const LIVE_PREFIX = '/live/';

/**
 * Returns the stream path of a live page URL: "/live/school-a/room-101" gives
 * "school-a/room-101". Percent-escapes are decoded, empty segments (doubled or
 * trailing slashes) dropped. On /live.html, which `vite dev` serves, it reads
 * ?path= instead. Returns null when the URL names no stream or is malformed.
 */
export function streamPathFromUrl(url: URL | string): string | null {
  const u = typeof url === 'string' ? new URL(url, 'http://localhost') : url;
  let raw: string;
  if (u.pathname.startsWith(LIVE_PREFIX)) {
    raw = u.pathname.slice(LIVE_PREFIX.length);
    try {
      raw = raw
        .split('/')
        .map((seg) => decodeURIComponent(seg))
        .join('/');
    } catch {
      return null; // malformed percent-escape
    }
  } else {
    raw = u.searchParams.get('path') ?? '';
  }
  const path = raw
    .split('/')
    .filter((seg) => seg !== '')
    .join('/');
  if (path === '' || path.split('/').some((seg) => seg === '.' || seg === '..')) return null;
  return path;
}

/** Encodes each segment of a stream path for use in a URL, keeping the slashes. */
export function encodeStreamPath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The WHEP endpoint of a stream, relative to the site root: "/whep/school-a/room-101". */
export function whepEndpoint(path: string): string {
  return '/whep/' + encodeStreamPath(path);
}

/** The live page URL of a stream, with the viewer's token carried along when there is one. */
export function livePageUrl(path: string, token?: string | null): string {
  const url = '/live/' + encodeStreamPath(path);
  return token ? `${url}?token=${encodeURIComponent(token)}` : url;
}
