// Seek-bar previews: the storyboard is one or more sprite images plus a WebVTT
// file whose cues name a region of a sprite for each stretch of the video:
//
//   WEBVTT
//
//   00:00:00.000 --> 00:00:05.000
//   storyboard.jpg#xywh=0,0,160,90
//
// Sprite URLs are relative to the VTT file.

/** One cue: from start to end (seconds) the preview is the w×h region at x,y of url. */
export interface StoryboardCue {
  start: number;
  end: number;
  url: string;
  x: number;
  y: number;
  /** 0 when the cue names the whole image (no #xywh=). */
  w: number;
  h: number;
}

/**
 * Parses a WebVTT timestamp, "hh:mm:ss.ttt" or "mm:ss.ttt" (a comma is accepted
 * for the dot, as some writers emit SRT style). Returns NaN when it is not one.
 */
export function parseVttTime(text: string): number {
  const m = /^(?:(\d+):)?([0-5]?\d):([0-5]?\d)(?:[.,](\d{1,3}))?$/.exec(text.trim());
  if (!m) return NaN;
  const ms = m[4] ? Number(m[4].padEnd(3, '0')) : 0;
  return Number(m[1] ?? 0) * 3600 + Number(m[2]) * 60 + Number(m[3]) + ms / 1000;
}

/** Reads "xywh=[pixel:]x,y,w,h" from a media fragment; null for percent or bad values. */
function parseXywh(fragment: string): [number, number, number, number] | null {
  const m = /(?:^|&)xywh=(pixel:)?(\d+),(\d+),(\d+),(\d+)(?:&|$)/.exec(fragment);
  if (!m) return null;
  const v = [m[2], m[3], m[4], m[5]].map(Number) as [number, number, number, number];
  return v[2] > 0 && v[3] > 0 ? v : null;
}

/**
 * Parses a storyboard WebVTT file. Relative image URLs are resolved against
 * baseUrl (the VTT file's own absolute URL). Cues that do not parse, NOTE, STYLE
 * and REGION blocks are skipped; the result is sorted by start time. A file
 * that does not start with "WEBVTT" gives no cues.
 */
export function parseStoryboard(text: string, baseUrl: string): StoryboardCue[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (!/^WEBVTT(?:[ \t]|$)/.test(lines[0] ?? '')) return [];
  const cues: StoryboardCue[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    if (!line.includes('-->')) continue;
    const [left, right = ''] = line.split('-->');
    const start = parseVttTime(left!);
    const end = parseVttTime(right.trim().split(/[ \t]/)[0] ?? ''); // cue settings may follow
    // The payload is the next line; a blank line means an empty cue.
    const payload = (lines[i + 1] ?? '').trim();
    if (Number.isNaN(start) || Number.isNaN(end) || end <= start || payload === '') continue;
    i++;
    const hash = payload.indexOf('#');
    const ref = hash >= 0 ? payload.slice(0, hash) : payload;
    let url: string;
    try {
      url = new URL(ref, baseUrl).href;
    } catch {
      continue;
    }
    let rect: [number, number, number, number] = [0, 0, 0, 0];
    if (hash >= 0) {
      const xywh = parseXywh(payload.slice(hash + 1));
      if (!xywh) continue;
      rect = xywh;
    }
    cues.push({ start, end, url, x: rect[0], y: rect[1], w: rect[2], h: rect[3] });
  }
  return cues.sort((a, b) => a.start - b.start);
}

/**
 * The cue to show at time t: the last one starting at or before t. Times before
 * the first cue get the first, times past the last cue the last (the sprite
 * usually stops a little short of the media's end). Null when there are none.
 */
export function cueAt(cues: readonly StoryboardCue[], t: number): StoryboardCue | null {
  if (cues.length === 0) return null;
  let lo = 0;
  let hi = cues.length - 1;
  if (!(t >= cues[0]!.start)) return cues[0]!;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cues[mid]!.start <= t) lo = mid;
    else hi = mid - 1;
  }
  return cues[lo]!;
}
