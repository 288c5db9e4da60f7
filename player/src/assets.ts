// Recordings and micro-lectures ("assets") as GET /api/v1/assets returns them,
// and the URLs of the pages that show them.

import { lookup, messages, type Lang } from './i18n';

/** The processing states, in the order an asset goes through them. */
export const ASSET_STATES = ['recording', 'queued', 'processing', 'ready', 'failed'] as const;

export type AssetState = (typeof ASSET_STATES)[number];

/** One rung of the HLS ladder. */
export interface Rendition {
  /** "1080p", "720p", ..., "audio". */
  name: string;
  width: number;
  height: number;
  /** bit/s, as in the master playlist's BANDWIDTH. */
  bandwidth: number;
  codecs: string;
  /** Frames per second of the video; 0 for audio and for assets made before the server said. */
  frame_rate: number;
}

export interface Asset {
  id: string;
  /** "recording" or "clip". */
  kind: string;
  title: string;
  stream_path: string;
  /** One of ASSET_STATES; kept as the server sent it when it is another. */
  state: string;
  /** The processing step under way ("probe", "ladder", ...), '' when none. */
  step: string;
  /** 0–100 while processing. */
  percent: number;
  /** Why it failed, for state "failed". */
  error: string;
  duration_seconds: number;
  width: number;
  height: number;
  created_at: string;
  updated_at: string;
  started_at: string;
  ended_at: string;
  renditions: Rendition[];
  /** '' until the asset is ready. */
  master_url: string;
  poster_url: string;
  storyboard_url: string;
}

export interface AssetPage {
  assets: Asset[];
  /** How many assets match the filter in all (for paging). */
  total: number;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

function parseRendition(v: unknown): Rendition | null {
  if (!v || typeof v !== 'object') return null;
  const r = v as Record<string, unknown>;
  if (typeof r.name !== 'string') return null;
  return {
    name: r.name,
    width: num(r.width),
    height: num(r.height),
    bandwidth: num(r.bandwidth),
    codecs: str(r.codecs),
    frame_rate: num(r.frame_rate),
  };
}

/** The asset's video frame rate (every rung keeps the source's), 0 when not known. */
export function assetFrameRate(a: Asset | null): number {
  return a?.renditions.find((r) => r.width > 0 && r.frame_rate > 0)?.frame_rate ?? 0;
}

/** Reads one asset, tolerating missing fields; null without an id. */
export function parseAsset(v: unknown): Asset | null {
  if (!v || typeof v !== 'object') return null;
  const a = v as Record<string, unknown>;
  if (typeof a.id !== 'string' || a.id === '') return null;
  return {
    id: a.id,
    kind: str(a.kind),
    title: str(a.title),
    stream_path: str(a.stream_path),
    state: str(a.state),
    step: str(a.step),
    percent: num(a.percent),
    error: str(a.error),
    duration_seconds: num(a.duration_seconds),
    width: num(a.width),
    height: num(a.height),
    created_at: str(a.created_at),
    updated_at: str(a.updated_at),
    started_at: str(a.started_at),
    ended_at: str(a.ended_at),
    renditions: Array.isArray(a.renditions)
      ? a.renditions.map(parseRendition).filter((r): r is Rendition => r !== null)
      : [],
    master_url: str(a.master_url),
    poster_url: str(a.poster_url),
    storyboard_url: str(a.storyboard_url),
  };
}

/**
 * Reads GET /api/v1/assets: {"assets":[...],"total":N}. Entries without an id
 * are skipped; the list is sorted newest first (the server already should).
 */
export function parseAssetPage(body: unknown): AssetPage {
  const b = (body ?? {}) as { assets?: unknown; total?: unknown };
  const assets = Array.isArray(b.assets) ? b.assets.map(parseAsset).filter((a): a is Asset => a !== null) : [];
  const time = (a: Asset) => {
    const ms = Date.parse(a.created_at);
    return Number.isNaN(ms) ? 0 : ms;
  };
  assets.sort((x, y) => time(y) - time(x));
  return { assets, total: Math.max(num(b.total), assets.length) };
}

/** True once the asset will not change by itself any more: ready or failed. */
export function isSettled(state: string): boolean {
  return state === 'ready' || state === 'failed';
}

/** The state for people: "处理中" / "Processing"; an unknown state as sent. */
export function assetStateLabel(state: string, lang: Lang): string {
  const key = `asset.state.${state}`;
  return Object.prototype.hasOwnProperty.call(messages, key) ? lookup(messages, key, lang) : state;
}

/** The processing step for people: "ladder" → "转码" / "Transcoding"; an unknown step as sent. */
export function assetStepLabel(step: string, lang: Lang): string {
  const key = `asset.step.${step}`;
  return Object.prototype.hasOwnProperty.call(messages, key) ? lookup(messages, key, lang) : step;
}

/** What to call an asset: its title, else the stream it was recorded from, else its id. */
export function assetName(a: Pick<Asset, 'id' | 'title' | 'stream_path'>): string {
  return a.title || a.stream_path || a.id;
}

/** Asset ids are short tokens ("r20261123t132700-ab12cd"): letters, digits, '.', '_' and '-'. */
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The asset id of a watch page URL: "/watch/r2026...-ab12cd" (one segment, a
 * trailing slash allowed). On /watch.html, which `vite dev` serves, it reads
 * ?id= instead. Null when the URL names no valid id.
 */
export function assetIdFromUrl(url: URL | string): string | null {
  const u = typeof url === 'string' ? new URL(url, 'http://localhost') : url;
  let raw: string;
  const m = /^\/watch\/([^/]+)\/?$/.exec(u.pathname);
  if (m) {
    try {
      raw = decodeURIComponent(m[1]!);
    } catch {
      return null;
    }
  } else {
    raw = u.searchParams.get('id') ?? '';
  }
  return ID_RE.test(raw) ? raw : null;
}

/**
 * url with the viewer's ?token= added, for what the browser fetches without our
 * headers: page links, posters, storyboard sprites, Safari's own HLS.
 */
export function withToken(url: string, token?: string | null): string {
  if (!token || url === '') return url;
  const hash = url.indexOf('#');
  const [base, frag] = hash >= 0 ? [url.slice(0, hash), url.slice(hash)] : [url, ''];
  return `${base}${base.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}${frag}`;
}

/** The watch page of an asset, carrying the viewer's token when there is one. */
export function watchPageUrl(id: string, token?: string | null): string {
  return withToken('/watch/' + encodeURIComponent(id), token);
}

/** The library page, carrying the viewer's token when there is one. */
export function libraryPageUrl(token?: string | null): string {
  return withToken('/library', token);
}

/** The query of GET /api/v1/assets for a page (1-based) of pageSize, optionally one state only. */
export function assetListQuery(page: number, pageSize: number, state: string): string {
  const offset = Math.max(0, (Math.floor(page) - 1) * pageSize);
  return `/assets?limit=${pageSize}&offset=${offset}&state=${encodeURIComponent(state)}`;
}
