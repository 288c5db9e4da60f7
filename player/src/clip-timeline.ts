// The clip editor's timeline: positions along a strip of storyboard thumbnails.
// Pure, for the tests.

import { cueAt, type StoryboardCue } from './storyboard';

/** The x (px from the strip's left) of time t on a strip width px wide for a video of duration seconds. */
export function timeToX(t: number, duration: number, width: number): number {
  if (!(duration > 0) || !(width > 0) || !Number.isFinite(t)) return 0;
  return (Math.min(Math.max(t, 0), duration) / duration) * width;
}

/** The time at x px on the strip, clamped to [0, duration]. */
export function xToTime(x: number, duration: number, width: number): number {
  if (!(duration > 0) || !(width > 0) || !Number.isFinite(x)) return 0;
  return (Math.min(Math.max(x, 0), width) / width) * duration;
}

/** One thumbnail of the strip: where it goes and which cue it shows. */
export interface TimelineTile {
  x: number;
  width: number;
  cue: StoryboardCue;
}

/**
 * The thumbnails that fill a strip width px wide and height px tall: as many
 * tiles as fit at the sprite's aspect ratio (16:9 when unknown), each showing the
 * cue at its middle. Empty without cues or size.
 */
export function timelineTiles(cues: readonly StoryboardCue[], duration: number, width: number, height: number): TimelineTile[] {
  if (cues.length === 0 || !(duration > 0) || !(width > 0) || !(height > 0)) return [];
  const first = cues[0]!;
  const aspect = first.w > 0 && first.h > 0 ? first.w / first.h : 16 / 9;
  const count = Math.max(1, Math.min(200, Math.ceil(width / (height * aspect))));
  const tileWidth = width / count;
  const out: TimelineTile[] = [];
  for (let i = 0; i < count; i++) {
    const mid = xToTime((i + 0.5) * tileWidth, duration, width);
    out.push({ x: i * tileWidth, width: tileWidth, cue: cueAt(cues, mid)! });
  }
  return out;
}
