// What a lesson card on the library's lessons tab shows, decided without the DOM:
// the lesson as the list returns it (with its school), which knowledge points to
// show for a search, and whether it needs a review-state badge. Pure, for tests.

import { matches } from './library-highlight';
import { parseLesson, type Lesson } from './portal';

/** A lesson as GET /api/v1/lessons lists it (school, media state and poster included). */
export type LibraryLesson = Lesson;

/** Reads one lesson of the list; null without an id. */
export const parseLibraryLesson = parseLesson;

/** Reads {"lessons": [...], "total": n}; total is at least what the page holds. */
export function parseLibraryPage(body: unknown): { lessons: LibraryLesson[]; total: number } {
  const b = (body ?? {}) as { lessons?: unknown; total?: unknown };
  const lessons = Array.isArray(b.lessons) ? b.lessons.map(parseLibraryLesson).filter((l): l is LibraryLesson => l !== null) : [];
  const total = typeof b.total === 'number' && Number.isFinite(b.total) ? b.total : 0;
  return { lessons, total: Math.max(total, lessons.length) };
}

/**
 * The knowledge points a card shows: the ones the search matches first (that is
 * why the lesson was found), then the rest, at most max; more counts the others.
 */
export function pointsToShow(points: string[], q: string, max = 3): { shown: string[]; more: number } {
  const unique = [...new Set(points.map((p) => p.trim()).filter((p) => p !== ''))];
  const hit = q.trim() ? unique.filter((p) => matches(p, q)) : [];
  const ordered = [...hit, ...unique.filter((p) => !hit.includes(p))];
  const shown = ordered.slice(0, Math.max(0, max));
  return { shown, more: ordered.length - shown.length };
}

/** Published lessons need no badge; every other review state shows one (its owner or a reviewer is looking). */
export function needsReviewBadge(state: string): boolean {
  return state !== 'published';
}

/** "数学 · 八年级", leaving out what is missing. */
export function subjectGrade(subject: string, grade: string): string {
  return [subject.trim(), grade.trim()].filter((s) => s !== '').join(' · ');
}
