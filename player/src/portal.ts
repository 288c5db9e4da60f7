// The teachers' portal shell: one top bar for every page (live, library, my
// lessons, upload, review, admin), links by role, who is signed in, sign-out and
// the language switch. A page calls initPortalPage once at start-up; it answers
// the caller, sends anonymous visitors to sign in when the page needs it, and
// shows a clear "forbidden" message when the caller's role does not fit.

import './styles/base.css';
import './styles/portal.css';
import { ApiError } from './api';
import { formatDuration, formatPercent } from './format';
import { applyI18n, bindLangToggle, getLang, lookup, messages, onLangChange, t, type Lang, type MessageKey } from './i18n';
import { bindNav } from './nav';
import { currentUser, hasRole, signInUrl, signOut, type Me } from './session';
import { parseClip, parseLesson, type Clip, type Lesson } from './lesson-model';

/** One link in the top bar. */
export interface NavLink {
  /** Matches initPortalPage's active option. */
  key: string;
  href: string;
  label: MessageKey;
}

/** What initPortalPage needs to know about the page. */
export interface PortalOptions {
  /** The key of the page's own link (live, library, me, upload, review, admin), or '' for none. */
  active: string;
  /** Anonymous visitors go to /signin?next=<this page>. Implied by roles. */
  requireSignIn?: boolean;
  /** The caller must have one of these roles (an admin has every role). */
  roles?: string[];
  /** The document title's message key, kept in the current language. */
  title?: MessageKey;
}

/**
 * navLinks lists the top-bar links the caller may use: everyone sees live and the
 * library; a signed-in user their lessons; teachers upload; reviewers review;
 * admins everything. Pure, for tests.
 */
export function navLinks(me: Me | null): NavLink[] {
  const links: NavLink[] = [
    { key: 'live', href: '/', label: 'portal.nav.live' },
    { key: 'library', href: '/library', label: 'portal.nav.library' },
  ];
  if (!me) return links;
  links.push({ key: 'me', href: '/me', label: 'portal.nav.me' });
  if (hasRole(me, 'teacher')) links.push({ key: 'upload', href: '/upload', label: 'portal.nav.upload' });
  if (hasRole(me, 'reviewer')) links.push({ key: 'review', href: '/review', label: 'portal.nav.review' });
  if (hasRole(me, 'admin')) links.push({ key: 'admin', href: '/admin', label: 'portal.nav.admin' });
  return links;
}

/** The top bar element, created at the top of <body> when the page has none. */
function topbarElement(): HTMLElement {
  let bar = document.getElementById('topbar');
  if (!bar) {
    bar = document.createElement('header');
    bar.id = 'topbar';
    document.body.prepend(bar);
  }
  bar.classList.add('topbar');
  return bar;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, i18n?: MessageKey): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (i18n) {
    e.dataset.i18n = i18n;
    e.textContent = t(i18n);
  }
  return e;
}

let langButton: HTMLButtonElement | null = null;

/** The language switch: made and bound once per page, moved into every new bar. */
function langToggle(): HTMLButtonElement {
  if (langButton) return langButton;
  const lang = el('button', 'lang-toggle', 'lang.switch');
  lang.type = 'button';
  lang.id = 'lang-toggle';
  lang.dataset.i18nTitle = 'lang.switch.title';
  lang.dataset.testid = 'lang-toggle';
  bindLangToggle(lang);
  langButton = lang;
  return lang;
}

/**
 * Renders the bar for me (null: anonymous). While pending (the server has not said
 * who is signed in yet) the user area stays empty, so neither "sign in" nor a
 * name flashes up wrongly.
 */
function renderTopbar(bar: HTMLElement, me: Me | null, active: string, pending = false): void {
  bar.replaceChildren();

  const brand = el('a', 'brand');
  brand.href = '/';
  brand.dataset.nav = '';
  const mark = el('span', 'brand-mark');
  mark.setAttribute('aria-hidden', 'true');
  const name = el('span', 'brand-name');
  name.textContent = 'classcast';
  brand.append(mark, name);

  const nav = el('nav', 'topnav');
  nav.dataset.i18nAria = 'portal.nav.label';
  nav.setAttribute('aria-label', t('portal.nav.label'));
  for (const link of navLinks(me)) {
    const a = el('a', undefined, link.label);
    a.href = link.href;
    a.dataset.nav = '';
    a.dataset.testid = `nav-${link.key}`;
    if (link.key === active) a.setAttribute('aria-current', 'page');
    nav.append(a);
  }

  const spacer = el('span', 'spacer');
  const user = el('div', 'topbar-user');
  if (me) {
    const who = el('span', 'topbar-name');
    who.textContent = me.user.display_name || me.user.username;
    who.title = `${me.user.username} · ${me.user.role}`;
    who.dataset.testid = 'topbar-user';
    const out = el('button', 'topbar-btn', 'portal.signout');
    out.type = 'button';
    out.dataset.testid = 'signout';
    out.addEventListener('click', () => {
      out.disabled = true;
      void signOut()
        .catch(() => undefined) // the cookie may be gone already: leave anyway
        .finally(() => location.assign('/signin'));
    });
    user.append(who, out);
  } else if (!pending && active !== 'signin') {
    const signin = el('a', 'topbar-btn', 'portal.signin');
    signin.href = signInUrl();
    signin.dataset.testid = 'nav-signin';
    user.append(signin);
  }

  bar.append(brand, nav, spacer, user, langToggle());
}

/** Replaces the page's <main> content with a message saying the caller may not use it. */
function showForbidden(me: Me): void {
  const main = document.querySelector('main') ?? document.body.appendChild(document.createElement('main'));
  const box = el('section', 'portal-forbidden');
  box.setAttribute('role', 'alert');
  box.dataset.testid = 'forbidden';
  const heading = el('h1', undefined, 'portal.forbidden');
  const hint = el('p', undefined, 'portal.forbidden.hint');
  const who = el('p', 'muted');
  const whoText = () => (who.textContent = `${me.user.username} · ${roleLabel(me.user.role, getLang())}`);
  whoText();
  onLangChange(whoText);
  const back = el('a', 'btn', 'portal.forbidden.back');
  back.href = '/me';
  box.append(heading, hint, who, back);
  main.replaceChildren(box);
}

/**
 * initPortalPage renders the top bar into <header id="topbar">, applies the
 * language, and answers the caller (null when anonymous). With requireSignIn (or
 * roles) an anonymous visitor is sent to /signin?next=<this page> and the promise
 * never settles; a caller without one of roles gets a forbidden message in <main>
 * and null. A failure to ask the server who is signed in counts as anonymous.
 */
export async function initPortalPage(opts: PortalOptions): Promise<Me | null> {
  const bar = topbarElement();
  const token = new URL(location.href).searchParams.get('token');
  // The public links at once; the user's once the server has answered.
  renderTopbar(bar, null, opts.active, true);
  bindNav(token, bar);
  applyI18n(bar);
  let me: Me | null = null;
  try {
    me = await currentUser();
  } catch {
    me = null; // server unreachable or failing: show the anonymous bar, the page reports its own errors
  }
  renderTopbar(bar, me, opts.active);
  bindNav(token, bar);
  if (opts.title) {
    const title = opts.title;
    document.title = t(title);
    onLangChange(() => (document.title = t(title)));
  }
  applyI18n();

  const needSignIn = opts.requireSignIn || (opts.roles !== undefined && opts.roles.length > 0);
  if (!me) {
    if (needSignIn) {
      location.assign(signInUrl());
      return new Promise<Me | null>(() => {});
    }
    return null;
  }
  if (opts.roles && opts.roles.length > 0 && !hasRole(me, ...opts.roles)) {
    showForbidden(me);
    return null;
  }
  return me;
}

// --- shared by the portal pages: pure helpers (tested in portal.test.ts) and small DOM helpers

/** The review states of lessons and micro-lectures, in workflow order. */
export const REVIEW_STATES = ['draft', 'submitted', 'approved', 'rejected', 'published'] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

/** The badge of a review state: its label and the data-state the CSS colours ('' for an unknown state). */
export function reviewBadge(state: string, lang: Lang): { label: string; state: string } {
  if ((REVIEW_STATES as readonly string[]).includes(state)) {
    return { label: lookup(messages, `portal.review.${state}`, lang), state };
  }
  return { label: state || '—', state: '' };
}

/** The badge of an asset's processing state: label (with percent while processing) and data-state. */
export function assetBadge(state: string, percent: number, lang: Lang): { label: string; state: string } {
  const key = `asset.state.${state}`;
  if (!Object.prototype.hasOwnProperty.call(messages, key)) return { label: state || '—', state: '' };
  const label = lookup(messages, key, lang);
  return { label: state === 'processing' ? `${label} ${formatPercent(percent)}%` : label, state };
}

/** A byte count for people: 0 B, 512 B, 1.5 KB, 12.3 MB, 1.25 GB (powers of 1024). */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0 B';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  if (i === 0) return `${Math.round(v)} B`;
  const digits = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return `${v.toFixed(digits)} ${units[i]}`;
}

/** A transfer rate: "2.50 MB/s"; '' when unknown. */
export function formatSpeed(bytesPerSecond: number): string {
  if (!Number.isFinite(bytesPerSecond) || bytesPerSecond <= 0) return '';
  return `${formatBytes(bytesPerSecond)}/s`;
}

/** Seconds left to send total-sent bytes at rate bytes/s, rounded up; null when the rate is unknown. */
export function etaSeconds(sent: number, total: number, rate: number): number | null {
  if (!Number.isFinite(rate) || rate <= 0 || !Number.isFinite(total) || total <= 0) return null;
  const left = Math.max(0, total - Math.max(0, sent));
  return Math.ceil(left / rate);
}

/** A time left for people: "45 秒", "3 分 20 秒", "1 小时 5 分" / "45 s", "3 min 20 s", "1 h 5 min". */
export function formatEta(seconds: number | null, lang: Lang): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '';
  const s = Math.ceil(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (lang === 'zh') {
    if (h > 0) return `${h} 小时 ${m} 分`;
    if (m > 0) return `${m} 分 ${r} 秒`;
    return `${r} 秒`;
  }
  if (h > 0) return `${h} h ${m} min`;
  if (m > 0) return `${m} min ${r} s`;
  return `${r} s`;
}

/**
 * SpeedMeter measures an upload's rate over the last window milliseconds, so a
 * stalled chunk shows as slowing down and a burst does not promise too much.
 * Times are passed in (performance.now() on a page), which keeps it testable.
 */
export class SpeedMeter {
  private samples: { t: number; bytes: number }[] = [];
  constructor(private readonly windowMs = 5000) {}

  /** Records that bytes (a running total) had been sent at time t (ms). */
  add(t: number, bytes: number): void {
    const last = this.samples.at(-1);
    if (last && bytes < last.bytes) this.samples = []; // restarted from an earlier offset
    this.samples.push({ t, bytes });
    while (this.samples.length > 2 && t - this.samples[0]!.t > this.windowMs) this.samples.shift();
  }

  /** Bytes per second over the window; 0 before two samples 200 ms apart. */
  rate(): number {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < 200) return 0;
    return ((last.bytes - first.bytes) * 1000) / (last.t - first.t);
  }

  /** Forgets every sample (after a pause). */
  reset(): void {
    this.samples = [];
  }
}

/** The query of GET /api/v1/lessons: "?mine=1&limit=20&offset=40&sort=newest"; empty values are left out. */
export function lessonsQuery(p: { mine?: boolean; state?: string; limit?: number; offset?: number; sort?: string }): string {
  const q = new URLSearchParams();
  if (p.mine) q.set('mine', '1');
  if (p.state) q.set('state', p.state);
  if (p.sort) q.set('sort', p.sort);
  if (p.limit !== undefined) q.set('limit', String(p.limit));
  if (p.offset !== undefined) q.set('offset', String(p.offset));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The query of a paged admin list: "?limit=50&offset=0". */
export function pageQuery(limit: number, offset: number): string {
  return `?limit=${Math.max(1, Math.floor(limit))}&offset=${Math.max(0, Math.floor(offset))}`;
}

/**
 * Seconds to wait after a 429: the Retry-After header (seconds), else the number
 * in the server's message ("try again in 42 s"), else 60.
 */
export function retryAfterSeconds(header: string | null, message: string): number {
  const h = header === null ? NaN : Number(header.trim());
  if (Number.isFinite(h) && h >= 0) return Math.ceil(h);
  const m = /(\d+)\s*s\b/.exec(message);
  return m ? Number(m[1]) : 60;
}

/** The id of a tus upload from its URL (".../api/v1/uploads/<32 hex>"), or ''. */
export function uploadIdOf(url: string): string {
  const m = /\/([0-9a-f]{32})\/?(?:[?#].*)?$/i.exec(url);
  return m ? m[1]!.toLowerCase() : '';
}

/** The asset id the server gives an accepted upload (cmd/classcast acceptUpload: "u-" + upload id). */
export function uploadAssetId(uploadId: string): string {
  return uploadId ? `u-${uploadId.toLowerCase()}` : '';
}

/** A page count label's numbers: first and last item shown (1-based) of total. */
export function pageRange(offset: number, shown: number, total: number): { from: number; to: number; total: number } {
  if (shown <= 0) return { from: 0, to: 0, total };
  return { from: offset + 1, to: offset + shown, total: Math.max(total, offset + shown) };
}

/** A readable message for an API failure, in the current language. */
export function apiErrorText(err: unknown): string {
  if (err instanceof ApiError) {
    switch (err.code) {
      case 'unauthorized':
        return t('portal.err.unauthorized');
      case 'forbidden':
        return t('portal.err.forbidden');
      case 'csrf_failed':
        return t('portal.err.csrf');
      case 'not_found':
        return t('portal.err.notFound');
      case 'illegal_transition':
        return t('portal.err.transition', { message: err.message });
      case 'last_admin':
        return t('portal.err.lastAdmin');
    }
    if (err.status === 401) return t('portal.err.unauthorized');
    if (err.status === 403) return t('portal.err.forbidden');
    return t('portal.err.api', { message: err.message });
  }
  if (err instanceof Error) return t('portal.err.network', { message: err.message });
  return t('portal.err.network', { message: String(err) });
}

/** document.createElement with a class and text. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A badge element: <span class="badge badge-review" data-state=...>label</span>. */
export function badge(kind: 'review' | 'state', b: { label: string; state: string }): HTMLSpanElement {
  const s = h('span', `badge badge-${kind}`, b.label);
  if (b.state) s.dataset.state = b.state;
  return s;
}

/** The element with id, or an error naming the page that lacks it. */
export function byId<T extends HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (!e) throw new Error(`${location.pathname} lacks #${id}`);
  return e as T;
}

// --- lessons and micro-lectures as the portal lists them

// One model of lessons and clips for every page: lesson-model.ts.
export { parseClip, parseLesson, type Clip, type Lesson } from './lesson-model';

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Reads {"lessons": [...], "total": n}. */
export function parseLessonPage(body: unknown): { lessons: Lesson[]; total: number } {
  const b = (body ?? {}) as { lessons?: unknown; total?: unknown };
  const lessons = Array.isArray(b.lessons) ? b.lessons.map(parseLesson).filter((l): l is Lesson => l !== null) : [];
  return { lessons, total: Math.max(num(b.total), lessons.length) };
}

/** Reads {"clips": [...]} in the API's order (newest first, or by submission in the review queue). */
export function parseClipList(body: unknown): Clip[] {
  const b = (body ?? {}) as { clips?: unknown };
  return Array.isArray(b.clips) ? b.clips.map(parseClip).filter((c): c is Clip => c !== null) : [];
}

/** The review queue: {"lessons", "lessons_total", "clips", "clips_total"}. */
export function parseReviewQueue(body: unknown): { lessons: Lesson[]; lessonsTotal: number; clips: Clip[]; clipsTotal: number } {
  const b = (body ?? {}) as { lessons?: unknown; lessons_total?: unknown; clips?: unknown; clips_total?: unknown };
  const lessons = Array.isArray(b.lessons) ? b.lessons.map(parseLesson).filter((l): l is Lesson => l !== null) : [];
  const clips = parseClipList(b);
  return { lessons, lessonsTotal: Math.max(num(b.lessons_total), lessons.length), clips, clipsTotal: Math.max(num(b.clips_total), clips.length) };
}

/** What a teacher may do with their own lesson or clip in a review state: submit it from draft or rejected. */
export function canSubmit(state: string): boolean {
  return state === 'draft' || state === 'rejected';
}

/** A clip's span in its lesson: "12:03–15:40". */
export function clipSpan(startMs: number, endMs: number): string {
  return `${formatDuration(startMs / 1000)}–${formatDuration(endMs / 1000)}`;
}

// --- upload page helpers

/** What the upload form collects besides the file. */
export interface UploadFields {
  title: string;
  subject: string;
  grade: string;
  textbook_edition: string;
  chapter: string;
  description: string;
  visibility: string;
}

/**
 * The tus metadata of an upload: the file name and title the server uses, plus
 * the short fields (subject, grade...) so a resumed upload after a browser restart
 * can fill the form again. Empty fields are left out; the description is not sent
 * (metadata is limited to 4 KiB and it is set on the lesson afterwards).
 */
export function uploadMetadata(filename: string, title: string, f: Partial<UploadFields>): Record<string, string> {
  const out: Record<string, string> = { filename, title };
  for (const k of ['subject', 'grade', 'textbook_edition', 'chapter', 'visibility'] as const) {
    const v = f[k]?.trim();
    if (v) out[k] = v;
  }
  return out;
}

/**
 * The PATCH /api/v1/lessons/{id} body that sets what the upload form collected
 * and the server did not take from the upload (everything but the title):
 * only non-empty fields, and visibility only when it is not the default (school).
 */
export function lessonPatchFromUpload(f: Partial<UploadFields>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of ['subject', 'grade', 'textbook_edition', 'chapter', 'description'] as const) {
    const v = f[k]?.trim();
    if (v) out[k] = v;
  }
  const vis = f.visibility?.trim();
  if (vis && vis !== 'school') out.visibility = vis;
  return out;
}

/** The lesson made from upload uploadId, found among lessons by its asset id. */
export function lessonForUpload(lessons: Lesson[], uploadId: string): Lesson | null {
  const asset = uploadAssetId(uploadId);
  return (asset && lessons.find((l) => l.asset_id === asset)) || null;
}

/**
 * A failed upload request for people, in lang: 413 too big (with the limit),
 * 422 the server's reason (it names it in Chinese and English), 401 signed out,
 * 403 not allowed, 0 network down, 507 server disk full; tusd's "ERR_CODE: message"
 * prefix is dropped.
 */
export function uploadErrorText(status: number, body: string, lang: Lang, maxSize = 0): string {
  const message = body.replace(/^ERR_[A-Z_]+:\s*/, '').trim();
  const msg = (key: string, params?: Record<string, string | number>) => lookup(messages, key, lang, params);
  switch (status) {
    case 413:
      return maxSize > 0 ? msg('portal.upload.err.tooBigMax', { max: formatBytes(maxSize) }) : msg('portal.upload.err.tooBig');
    case 422: {
      // The server says "不是可用的视频文件 / not a usable video: <reason>": keep the reason.
      const reason = message.replace(/^.*not a usable video:\s*/s, '').trim();
      return reason ? msg('portal.upload.err.notVideo', { reason }) : msg('portal.upload.err.notVideoBare');
    }
    case 401:
      return msg('portal.upload.err.signedOut');
    case 403:
      return msg('portal.upload.err.forbidden');
    case 507:
      return msg('portal.upload.err.diskFull');
    case 0:
      return msg('portal.upload.err.network');
  }
  if (message && !message.startsWith('{') && message.length < 300) return msg('portal.upload.err.other', { message });
  return msg('portal.upload.err.status', { status });
}

// --- review page helpers

/** A lesson or micro-lecture as the review page lists it. */
export interface ReviewItem {
  kind: 'lesson' | 'clip';
  id: string;
  title: string;
  state: string;
  teacherId: string;
  teacherName: string;
  subject: string;
  grade: string;
  submittedAt: string;
  /** Lessons: the duration; clips: the span and knowledge point. */
  detail: string;
  lessonId: string;
}

export function reviewItemOfLesson(l: Lesson): ReviewItem {
  return {
    kind: 'lesson', id: l.id, title: l.title, state: l.state, teacherId: l.teacher_id, teacherName: l.teacher_name,
    subject: l.subject, grade: l.grade, submittedAt: l.submitted_at,
    detail: l.duration_ms > 0 ? formatDuration(l.duration_ms / 1000) : '', lessonId: l.id,
  };
}

export function reviewItemOfClip(c: Clip): ReviewItem {
  return {
    kind: 'clip', id: c.id, title: c.title, state: c.state, teacherId: c.teacher_id, teacherName: '',
    subject: c.subject, grade: c.grade, submittedAt: c.submitted_at,
    detail: [c.knowledge_point, clipSpan(c.start_ms, c.end_ms)].filter(Boolean).join(' · '), lessonId: c.lesson_id,
  };
}

/** Lessons and clips in one list, oldest submission first (the queue is first come, first served). */
export function mergeReviewItems(lessons: Lesson[], clips: Clip[]): ReviewItem[] {
  const time = (s: string) => {
    const ms = Date.parse(s);
    return Number.isNaN(ms) ? Number.MAX_SAFE_INTEGER : ms;
  };
  return [...lessons.map(reviewItemOfLesson), ...clips.map(reviewItemOfClip)].sort(
    (a, b) => time(a.submittedAt) - time(b.submittedAt) || a.id.localeCompare(b.id),
  );
}

/** The API path of a review action: /lessons/<id>/approve, /clips/<id>/reject... */
export function reviewActionPath(kind: 'lesson' | 'clip', id: string, verb: 'approve' | 'reject' | 'publish' | 'submit'): string {
  return `/${kind === 'lesson' ? 'lessons' : 'clips'}/${encodeURIComponent(id)}/${verb}`;
}

/** The page of a lesson or clip. */
export function itemPageUrl(kind: 'lesson' | 'clip', id: string): string {
  return `/${kind === 'lesson' ? 'lessons' : 'clips'}/${encodeURIComponent(id)}`;
}

// --- admin page helpers

/** The RTSP port an encoder publishes to when the server does not say (DESIGN.md). */
export const DEFAULT_RTSP_PORT = 8554;

/**
 * The URL an encoder publishes a classroom with: rtsp://user:key@host:port/path,
 * the user and key percent-encoded (a key may hold '@' or ':').
 */
export function rtspPublishUrl(host: string, port: number, user: string, key: string, path: string): string {
  const cred = user || key ? `${encodeURIComponent(user)}:${encodeURIComponent(key)}@` : '';
  const p = path.replace(/^\/+/, '');
  return `rtsp://${cred}${host}:${port}/${p}`;
}

/** The query of GET /api/v1/admin/audit: page plus actor and action filters. */
export function auditQuery(limit: number, offset: number, actor: string, action: string): string {
  const q = new URLSearchParams({ limit: String(limit), offset: String(offset) });
  if (actor.trim()) q.set('actor', actor.trim());
  if (action.trim()) q.set('action', action.trim());
  return `?${q.toString()}`;
}

/** An audit entry's detail as one short line: key=value pairs, long values cut. */
export function auditDetailText(detail: unknown): string {
  if (!detail || typeof detail !== 'object') return '';
  return Object.entries(detail as Record<string, unknown>)
    .map(([k, v]) => {
      let s = typeof v === 'string' ? v : JSON.stringify(v);
      if (s.length > 80) s = `${s.slice(0, 79)}…`;
      return `${k}=${s}`;
    })
    .join(' ');
}

/**
 * A password an admin can read out to a teacher: letters and digits without the
 * ones people confuse (0/O, 1/l/I), length characters. rand returns 32-bit values.
 */
export function readablePassword(length: number, rand: (n: number) => Uint32Array): string {
  const alphabet = 'abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789';
  const values = rand(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[values[i]! % alphabet.length];
  return out;
}

/** The message key of a role's name. */
export function roleLabel(role: string, lang: Lang): string {
  const key = `portal.role.${role}`;
  return Object.prototype.hasOwnProperty.call(messages, key) ? lookup(messages, key, lang) : role;
}

/** The message key of a visibility's name. */
export function visibilityLabel(v: string, lang: Lang): string {
  const key = `portal.vis.${v}`;
  return Object.prototype.hasOwnProperty.call(messages, key) ? lookup(messages, key, lang) : v;
}
