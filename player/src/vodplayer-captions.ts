// Caption tracks as GET /api/v1/lessons/{id}/captions lists them, and which one
// the player shows. Pure, for the tests.

/** One WebVTT caption track of a lesson. */
export interface CaptionTrack {
  /** BCP 47 language tag: "zh", "en", "zh-Hans". */
  lang: string;
  /** What the menu shows: "中文", "English". */
  label: string;
  /** Where the .vtt is served (text/vtt). */
  url: string;
}

/** Language tags the server accepts (catalog.ValidLang): "zh", "en", "zh-CN", "zh-Hans". */
const LANG_RE = /^[a-z]{2,3}(?:-[A-Za-z0-9]{2,8}){0,3}$/;

/** True when lang is a language tag the server takes ("zh", "en-GB", "zh-Hans"). */
export function validCaptionLang(lang: string): boolean {
  return LANG_RE.test(lang);
}

/**
 * Reads {"captions":[{"lang","label","url"}]}. Entries without a valid lang or a
 * url are skipped, one per language (the first), sorted by language.
 */
export function parseCaptionList(body: unknown): CaptionTrack[] {
  const list = (body as { captions?: unknown } | null)?.captions;
  if (!Array.isArray(list)) return [];
  const seen = new Set<string>();
  const out: CaptionTrack[] = [];
  for (const item of list as Record<string, unknown>[]) {
    if (!item || typeof item !== 'object') continue;
    const lang = typeof item.lang === 'string' ? item.lang : '';
    const url = typeof item.url === 'string' ? item.url : '';
    if (!validCaptionLang(lang) || url === '' || seen.has(lang)) continue;
    seen.add(lang);
    out.push({ lang, label: typeof item.label === 'string' && item.label.trim() !== '' ? item.label.trim() : lang, url });
  }
  return out.sort((a, b) => a.lang.localeCompare(b.lang));
}

/**
 * Which track to show: wanted when there is one of that language ('' means off),
 * else nothing. A wanted "zh" also matches "zh-Hans" and the reverse; uiLang
 * only breaks ties between several matches.
 */
export function captionChoice(tracks: readonly CaptionTrack[], wanted: string, uiLang: string): string {
  if (wanted === '' || tracks.length === 0) return '';
  const exact = tracks.find((c) => c.lang.toLowerCase() === wanted.toLowerCase());
  if (exact) return exact.lang;
  const base = (l: string) => l.toLowerCase().split('-')[0]!;
  const near = tracks.filter((c) => base(c.lang) === base(wanted));
  if (near.length === 0) return '';
  return (near.find((c) => base(c.lang) === base(uiLang)) ?? near[0]!).lang;
}

/** The Content-Type to upload a caption file with, from its name: SRT or WebVTT; null for anything else. */
export function captionContentType(fileName: string): 'text/vtt' | 'application/x-subrip' | null {
  const name = fileName.toLowerCase();
  if (name.endsWith('.vtt')) return 'text/vtt';
  if (name.endsWith('.srt')) return 'application/x-subrip';
  return null;
}
