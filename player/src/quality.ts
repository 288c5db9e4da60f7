// Names for the renditions of a recording (the quality menu) and the playback
// speeds. Pure, for the tests.

import { lookup, messages, type Lang } from './i18n';
import { formatBandwidth } from './format';

/** What the menu needs to know of a level (hls.js Level, or an Asset rendition). */
export interface LevelLike {
  width?: number | undefined;
  height?: number | undefined;
  bitrate?: number | undefined;
  videoCodec?: string | undefined;
}

/** The canonical name of the audio-only rendition, as the server names it too. */
export const AUDIO_ONLY = 'audio';

const STANDARD_HEIGHTS = [144, 240, 360, 480, 540, 576, 720, 1080, 1440, 2160];

/**
 * The canonical name of a level: "1080p", "720p", ... from its picture's short
 * side (so a portrait 720×1280 is "720p"), snapped to the usual ladder when
 * within 3 % (1088 → "1080p"); "audio" for a level without picture.
 */
export function qualityName(level: LevelLike): string {
  const w = level.width ?? 0;
  const h = level.height ?? 0;
  if (h <= 0 && w <= 0) return level.videoCodec ? '?' : AUDIO_ONLY;
  const side = w > 0 && h > 0 ? Math.min(w, h) : Math.max(w, h);
  const near = STANDARD_HEIGHTS.find((s) => Math.abs(side - s) <= s * 0.03);
  return `${near ?? side}p`;
}

/** What the menu shows for a canonical name: "仅音频" / "Audio only" for audio, the name itself otherwise. */
export function qualityLabel(name: string, lang: Lang): string {
  return name === AUDIO_ONLY ? lookup(messages, 'quality.audio', lang) : name;
}

/**
 * Menu labels for a list of levels, in the same order. Levels that would share
 * a name (two 720p rungs) get their bit rate added: "720p · 2.8 Mbps".
 */
export function levelLabels(levels: readonly LevelLike[], lang: Lang): string[] {
  const names = levels.map(qualityName);
  return names.map((n, i) => {
    const label = qualityLabel(n, lang);
    const twin = names.some((m, j) => j !== i && m === n);
    const rate = formatBandwidth(levels[i]!.bitrate ?? 0);
    return twin && rate ? `${label} · ${rate}` : label;
  });
}

/** Playback speeds the menu offers, slowest first. */
export const SPEEDS = [0.75, 1, 1.25, 1.5, 2] as const;

/** A speed as the menu shows it: "1x", "1.25x". */
export function formatSpeed(rate: number): string {
  return `${Number(rate.toFixed(2))}x`;
}

/**
 * The next speed up (dir 1) or down (dir -1) from rate, staying within SPEEDS;
 * a rate between two steps moves to the neighbouring step in that direction.
 */
export function stepSpeed(rate: number, dir: 1 | -1): number {
  if (dir > 0) return SPEEDS.find((s) => s > rate + 1e-6) ?? SPEEDS[SPEEDS.length - 1]!;
  return [...SPEEDS].reverse().find((s) => s < rate - 1e-6) ?? SPEEDS[0];
}

/** Reads a stored speed: one of SPEEDS, else 1. */
export function parseSpeed(value: string | null): number {
  const n = Number(value);
  return (SPEEDS as readonly number[]).includes(n) ? n : 1;
}
