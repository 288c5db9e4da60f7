// The library page's state as it lives in the URL (?tab=, ?q=, filters, page),
// the API queries made from it, and the paging arithmetic. Pure, for tests: the
// page keeps the URL as the one source of truth so links, reload and the back
// button all show the same results.

/** The three tabs of /library. */
export const LIBRARY_TABS = ['lessons', 'coverage', 'recordings'] as const;
export type LibraryTab = (typeof LIBRARY_TABS)[number];

/** The sort orders GET /api/v1/lessons accepts; '' is the server's default (newest). */
export const LESSON_SORTS = ['newest', 'oldest', 'title', 'duration', 'submitted'] as const;

/** The review states a reviewer may filter on. */
export const LESSON_STATES = ['draft', 'submitted', 'approved', 'rejected', 'published'] as const;

/** Common subjects of Chinese schools, offered as suggestions (free text is allowed). */
export const SUBJECTS = ['语文', '数学', '英语', '物理', '化学', '生物', '历史', '地理', '道德与法治'] as const;

/** Grades from primary one to senior three, offered as suggestions. */
export const GRADES = [
  '一年级', '二年级', '三年级', '四年级', '五年级', '六年级',
  '七年级', '八年级', '九年级', '高一', '高二', '高三',
] as const;

/** Lessons per page on the lessons tab. */
export const LESSON_PAGE_SIZE = 24;

/** The server refuses q longer than this many characters (runes). */
export const MAX_QUERY_CHARS = 100;

/** What the lessons tab shows: a search and filters. Empty strings mean "any". */
export interface LessonQuery {
  q: string;
  subject: string;
  grade: string;
  /** A review state; only reviewers and admins get the control. */
  state: string;
  /** A knowledge point (from the coverage tab's links). */
  point: string;
  sort: string;
  /** 1-based. */
  page: number;
}

export const EMPTY_LESSON_QUERY: Readonly<LessonQuery> = { q: '', subject: '', grade: '', state: '', point: '', sort: '', page: 1 };

/** What the coverage tab shows. */
export interface CoverageQuery {
  subject: string;
  grade: string;
}

/** The tab a URL names; lessons unless it names another. */
export function tabOf(params: URLSearchParams): LibraryTab {
  const tab = params.get('tab') ?? '';
  return (LIBRARY_TABS as readonly string[]).includes(tab) ? (tab as LibraryTab) : 'lessons';
}

/** A page number from the URL: a whole number ≥ 1, else 1. */
export function parsePage(v: string | null): number {
  const n = Math.floor(Number(v));
  return Number.isFinite(n) && n >= 1 ? n : 1;
}

/** Trims and cuts a search to what the server accepts (by characters, not UTF-16 units). */
export function cleanQuery(q: string): string {
  const chars = Array.from(q.trim());
  return chars.length > MAX_QUERY_CHARS ? chars.slice(0, MAX_QUERY_CHARS).join('').trim() : chars.join('');
}

/** Reads the lessons tab's query from URL parameters; unknown sorts and states are dropped. */
export function lessonQueryFromParams(params: URLSearchParams): LessonQuery {
  const get = (k: string) => (params.get(k) ?? '').trim();
  const sort = get('sort');
  const state = get('state');
  return {
    q: cleanQuery(params.get('q') ?? ''),
    subject: get('subject'),
    grade: get('grade'),
    state: (LESSON_STATES as readonly string[]).includes(state) ? state : '',
    point: get('point'),
    sort: (LESSON_SORTS as readonly string[]).includes(sort) ? sort : '',
    page: parsePage(params.get('page')),
  };
}

/**
 * The URL parameters of a lessons query: only what differs from the defaults,
 * in a fixed order, so equal queries give equal URLs. extra (tab, token) is kept.
 */
export function lessonQueryToParams(query: LessonQuery, extra: Record<string, string | null> = {}): URLSearchParams {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(extra)) if (v) p.set(k, v);
  if (query.q) p.set('q', query.q);
  if (query.subject) p.set('subject', query.subject);
  if (query.grade) p.set('grade', query.grade);
  if (query.point) p.set('point', query.point);
  if (query.state) p.set('state', query.state);
  if (query.sort) p.set('sort', query.sort);
  if (query.page > 1) p.set('page', String(query.page));
  return p;
}

/** The path and query of GET /api/v1/lessons for a lessons query ("/lessons?q=...&limit=24&offset=0"). */
export function lessonsApiPath(query: LessonQuery, pageSize = LESSON_PAGE_SIZE): string {
  const p = new URLSearchParams();
  if (query.q) p.set('q', query.q);
  if (query.subject) p.set('subject', query.subject);
  if (query.grade) p.set('grade', query.grade);
  if (query.point) p.set('point', query.point);
  if (query.state) p.set('state', query.state);
  if (query.sort) p.set('sort', query.sort);
  p.set('limit', String(pageSize));
  p.set('offset', String(pageOffset(query.page, pageSize)));
  return `/lessons?${p.toString()}`;
}

/** True when the query narrows the list (a search or a filter), for the empty state's wording. */
export function isFiltered(query: LessonQuery): boolean {
  return query.q !== '' || query.subject !== '' || query.grade !== '' || query.state !== '' || query.point !== '';
}

/** Reads the coverage tab's subject and grade from URL parameters. */
export function coverageQueryFromParams(params: URLSearchParams): CoverageQuery {
  return { subject: (params.get('subject') ?? '').trim(), grade: (params.get('grade') ?? '').trim() };
}

/** The path and query of GET /api/v1/coverage; null until both subject and grade are given. */
export function coverageApiPath(query: CoverageQuery): string | null {
  if (!query.subject || !query.grade) return null;
  return `/coverage?${new URLSearchParams({ subject: query.subject, grade: query.grade }).toString()}`;
}

/** The link of a tab, carrying the viewer's token: "/library?tab=coverage&token=...". */
export function tabHref(tab: LibraryTab, token?: string | null, extra: Record<string, string> = {}): string {
  const p = new URLSearchParams({ tab });
  for (const [k, v] of Object.entries(extra)) if (v) p.set(k, v);
  if (token) p.set('token', token);
  return `/library?${p.toString()}`;
}

// ---------------------------------------------------------------- paging

/** The offset of a 1-based page. */
export function pageOffset(page: number, pageSize: number): number {
  return Math.max(0, (Math.max(1, Math.floor(page)) - 1) * pageSize);
}

/** How many pages total items fill (at least 1, so "page 1 of 1" for an empty list). */
export function pageCount(total: number, pageSize: number): number {
  if (!Number.isFinite(total) || total <= 0 || pageSize <= 0) return 1;
  return Math.ceil(total / pageSize);
}

/** page kept within 1..pageCount(total). */
export function clampPage(page: number, total: number, pageSize: number): number {
  return Math.min(Math.max(1, Math.floor(page) || 1), pageCount(total, pageSize));
}

/**
 * The page buttons to show around current of count: the first, the last, and
 * current with `around` neighbours each side; null marks a gap ("…"). A gap of
 * a single page shows that page instead. [1] for a single page.
 */
export function pageWindow(current: number, count: number, around = 1): (number | null)[] {
  const n = Math.max(1, Math.floor(count));
  const c = Math.min(Math.max(1, Math.floor(current)), n);
  const keep = new Set<number>([1, n]);
  for (let p = c - around; p <= c + around; p++) if (p >= 1 && p <= n) keep.add(p);
  const sorted = [...keep].sort((a, b) => a - b);
  const out: (number | null)[] = [];
  let prev = 0;
  for (const p of sorted) {
    if (p - prev === 2) out.push(prev + 1);
    else if (p - prev > 2) out.push(null);
    out.push(p);
    prev = p;
  }
  return out;
}
