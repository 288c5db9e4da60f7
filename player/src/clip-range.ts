// The in and out points of a micro-lecture being cut from a lesson: clock
// text (mm:ss.mmm), frame snapping, clamping while a handle is dragged, and the
// checks before saving. Pure, for the tests.

/** The shortest clip the editor lets a teacher save, seconds. */
export const MIN_CLIP_SECONDS = 1;

/**
 * Frames per second assumed when snapping: the asset API does not say the
 * frame rate, and 25 is what Chinese classroom encoders (PAL) send.
 */
export const DEFAULT_FPS = 25;

/** A time as "mm:ss.mmm" ("h:mm:ss.mmm" from an hour on); negatives and NaN as "00:00.000". */
export function formatClock(seconds: number): string {
  const totalMs = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
  const ms = totalMs % 1000;
  const s = Math.floor(totalMs / 1000) % 60;
  const m = Math.floor(totalMs / 60000) % 60;
  const h = Math.floor(totalMs / 3600000);
  const tail = `${String(s).padStart(2, '0')}.${String(ms).padStart(3, '0')}`;
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${tail}` : `${String(m).padStart(2, '0')}:${tail}`;
}

/**
 * Reads a time a teacher typed: "1:23.456", "01:23", "1:02:03.5", "83.25" (plain
 * seconds), a comma for the dot, full-width colons too. Seconds (and minutes
 * after hours) must be below 60 when a larger unit is given; at most three
 * decimals. NaN when it is not a time.
 */
export function parseClock(text: string): number {
  const s = text.trim().replace(/：/g, ':').replace(',', '.');
  const m = /^(?:(?:(\d+):)?(\d+):)?(\d+)(?:\.(\d{1,3}))?$/.exec(s);
  if (!m) return NaN;
  const [, hh, mm, ss, frac] = m;
  const h = hh === undefined ? 0 : Number(hh);
  const min = mm === undefined ? 0 : Number(mm);
  const sec = Number(ss);
  if (mm !== undefined && sec >= 60) return NaN;
  if (hh !== undefined && min >= 60) return NaN;
  const ms = frac ? Number(frac.padEnd(3, '0')) : 0;
  return h * 3600 + min * 60 + sec + ms / 1000;
}

/** t moved to the nearest frame boundary at fps, to the millisecond. */
export function snapToFrame(t: number, fps: number = DEFAULT_FPS): number {
  if (!Number.isFinite(t)) return 0;
  if (!(fps > 0)) return Math.round(t * 1000) / 1000;
  return Math.round((Math.round(t * fps) / fps) * 1000) / 1000;
}

/** Seconds as the API's whole milliseconds. */
export function toMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/** Where a dragged in point may go: at least 0, at least MIN before out. */
export function clampIn(t: number, out: number, duration: number): number {
  const hi = Math.min(out, duration) - MIN_CLIP_SECONDS;
  return Math.max(0, Math.min(t, hi));
}

/** Where a dragged out point may go: at least MIN after in, at most duration. */
export function clampOut(t: number, inPoint: number, duration: number): number {
  const lo = inPoint + MIN_CLIP_SECONDS;
  return Math.min(duration, Math.max(t, lo));
}

/** Why a range cannot be saved, as an i18n key with its parameters. */
export type RangeProblem =
  | { key: 'clip.err.time' }
  | { key: 'clip.err.order' }
  | { key: 'clip.err.short'; params: { seconds: number } }
  | { key: 'clip.err.range' };

/**
 * Checks in and out (seconds) of a video duration seconds long (0: not known
 * yet, only the other rules apply): both times, in before out, at least
 * MIN_CLIP_SECONDS long, within the video. Null when it is fine.
 */
export function checkRange(inPoint: number, out: number, duration: number): RangeProblem | null {
  if (!Number.isFinite(inPoint) || !Number.isFinite(out)) return { key: 'clip.err.time' };
  if (inPoint < 0 || (duration > 0 && out > duration + 0.001)) return { key: 'clip.err.range' };
  if (out <= inPoint) return { key: 'clip.err.order' };
  if (out - inPoint < MIN_CLIP_SECONDS - 0.0005) return { key: 'clip.err.short', params: { seconds: MIN_CLIP_SECONDS } };
  return null;
}

/**
 * A starting range for a video duration seconds long: from the playhead at,
 * for 60 s or to the end, at least MIN_CLIP_SECONDS long.
 */
export function initialRange(at: number, duration: number): { in: number; out: number } {
  if (!(duration > MIN_CLIP_SECONDS)) return { in: 0, out: Math.max(duration, 0) };
  const start = Math.max(0, Math.min(at, duration - MIN_CLIP_SECONDS));
  return { in: start, out: Math.min(duration, start + 60) };
}
