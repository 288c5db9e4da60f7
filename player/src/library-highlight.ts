// Splits a text around the occurrences of a search, so the page can mark them
// with <mark> elements holding text nodes (never innerHTML with what users wrote).
// Matching is a case-insensitive substring, as the server's search is.

/** One run of text: match is true for an occurrence of the search. */
export interface TextPart {
  text: string;
  match: boolean;
}

/**
 * The parts of text, in order, with every non-overlapping occurrence of q
 * (trimmed; case-insensitive) marked. Without q, or without a match, one
 * unmatched part (none for an empty text). Joining the parts gives text back.
 */
export function splitHighlight(text: string, q: string): TextPart[] {
  if (text === '') return [];
  const needle = q.trim();
  if (needle === '') return [{ text, match: false }];
  // Lower-casing may change a string's length (e.g. "İ"); then indexes into the
  // lowered copy do not point into text, so match exactly instead.
  const lowered = text.toLowerCase();
  const loweredNeedle = needle.toLowerCase();
  const caseless = lowered.length === text.length && loweredNeedle.length === needle.length;
  const hay = caseless ? lowered : text;
  const pin = caseless ? loweredNeedle : needle;
  const parts: TextPart[] = [];
  let from = 0;
  for (;;) {
    const at = hay.indexOf(pin, from);
    if (at < 0) break;
    if (at > from) parts.push({ text: text.slice(from, at), match: false });
    parts.push({ text: text.slice(at, at + pin.length), match: true });
    from = at + pin.length;
  }
  if (from < text.length) parts.push({ text: text.slice(from), match: false });
  return parts;
}

/** True when q (trimmed, case-insensitive) occurs in text. */
export function matches(text: string, q: string): boolean {
  return splitHighlight(text, q).some((p) => p.match);
}
