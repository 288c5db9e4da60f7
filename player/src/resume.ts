// "Resume where you left off": the last position in each recording, kept in
// localStorage under one key as {assetId: {t: seconds, at: epoch ms}}, the
// most recently watched MAX_RESUME_ENTRIES of them.

/** localStorage key of the positions map. */
export const RESUME_STORAGE_KEY = 'classcast.vod.resume';
/** Positions this close to the start are not worth resuming from. */
export const RESUME_MIN_SECONDS = 10;
/** Nor positions this close to the end: the viewer finished the recording. */
export const RESUME_END_MARGIN_SECONDS = 10;
/** How many recordings' positions are kept; the least recently watched go first. */
export const MAX_RESUME_ENTRIES = 100;

export interface SavedPosition {
  /** Seconds into the recording. */
  t: number;
  /** When it was saved (ms since the epoch), to drop the oldest. */
  at: number;
}

export type Positions = Record<string, SavedPosition>;

/** Reads the stored map, dropping anything malformed; bad JSON gives an empty map. */
export function parsePositions(raw: string | null): Positions {
  if (!raw) return {};
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch {
    return {};
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) return {};
  const out: Positions = {};
  for (const [id, p] of Object.entries(v as Record<string, unknown>)) {
    const { t, at } = (p ?? {}) as Record<string, unknown>;
    if (typeof t === 'number' && Number.isFinite(t) && t >= 0 && typeof at === 'number' && Number.isFinite(at)) {
      out[id] = { t, at };
    }
  }
  return out;
}

/** True when t is inside the part of a recording of this duration worth resuming from. */
function worthResuming(t: number, duration: number): boolean {
  if (!(t > RESUME_MIN_SECONDS)) return false;
  // Unknown duration (0, NaN, Infinity): only the start rule applies.
  if (!Number.isFinite(duration) || duration <= 0) return true;
  return t < duration - RESUME_END_MARGIN_SECONDS;
}

/**
 * Where to start the recording id of this duration: the saved position if it is
 * more than 10 s in and more than 10 s before the end, else null (from the start).
 */
export function resumePosition(positions: Positions, id: string, duration: number): number | null {
  const p = Object.prototype.hasOwnProperty.call(positions, id) ? positions[id] : undefined;
  return p && worthResuming(p.t, duration) ? p.t : null;
}

/**
 * Returns positions with id's position set to t (at time now), or removed when
 * t is too near the start or the end to resume from, keeping at most
 * MAX_RESUME_ENTRIES. The input is not changed.
 */
export function recordPosition(positions: Positions, id: string, t: number, duration: number, now: number): Positions {
  const out: Positions = { ...positions };
  if (worthResuming(t, duration)) out[id] = { t: Math.round(t * 10) / 10, at: now };
  else delete out[id];
  const ids = Object.keys(out);
  if (ids.length > MAX_RESUME_ENTRIES) {
    ids.sort((a, b) => out[b]!.at - out[a]!.at);
    for (const old of ids.slice(MAX_RESUME_ENTRIES)) delete out[old];
  }
  return out;
}

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage disabled
  }
}

/** The stored positions ({} without storage). */
export function loadPositions(): Positions {
  try {
    return parsePositions(storage()?.getItem(RESUME_STORAGE_KEY) ?? null);
  } catch {
    return {};
  }
}

/** Saves id's position (or forgets it, see recordPosition). Storage errors are ignored. */
export function savePosition(id: string, t: number, duration: number): void {
  try {
    const s = storage();
    if (!s) return;
    const next = recordPosition(parsePositions(s.getItem(RESUME_STORAGE_KEY)), id, t, duration, Date.now());
    s.setItem(RESUME_STORAGE_KEY, JSON.stringify(next));
  } catch {
    // quota or privacy mode: resuming is a convenience
  }
}
