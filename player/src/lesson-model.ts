// Lessons and micro-lectures (clips) as the API returns them, and what the
// caller may do with one. Pure, for the tests.

/** A lesson as GET /api/v1/lessons/{id} returns it. */
export interface Lesson {
  id: string;
  asset_id: string;
  title: string;
  teacher_id: string;
  teacher_name: string;
  school_id: string;
  /** The school's name ('' when the lesson has no school). */
  school_name: string;
  district: string;
  subject: string;
  grade: string;
  textbook_edition: string;
  chapter: string;
  description: string;
  /** "recording" or "upload". */
  origin: string;
  duration_ms: number;
  knowledge_points: string[];
  /** draft, submitted, approved, rejected, published. */
  state: string;
  reject_reason: string;
  /** public, district, school, link. */
  visibility: string;
  share_token: string;
  created_at: string;
  updated_at: string;
  submitted_at: string;
  /** The media's state (ready, processing, ...); '' without media. */
  asset_state: string;
  /** Set once the media is ready. */
  poster_url: string;
}

/** A micro-lecture as GET /api/v1/clips/{id} returns it. */
export interface Clip {
  id: string;
  lesson_id: string;
  /** '' until the cutting task has made its asset. */
  asset_id: string;
  title: string;
  knowledge_point: string;
  start_ms: number;
  end_ms: number;
  state: string;
  reject_reason: string;
  visibility: string;
  teacher_id: string;
  school_id: string;
  subject: string;
  grade: string;
  created_at: string;
  submitted_at: string;
}

export const VISIBILITIES = ['school', 'district', 'public', 'link'] as const;

const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

/** Reads a lesson, tolerating missing fields; null without an id. */
export function parseLesson(v: unknown): Lesson | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') return null;
  return {
    id: o.id,
    asset_id: str(o.asset_id),
    title: str(o.title),
    teacher_id: str(o.teacher_id),
    teacher_name: str(o.teacher_name),
    school_id: str(o.school_id),
    school_name: str(o.school_name),
    district: str(o.district),
    subject: str(o.subject),
    grade: str(o.grade),
    textbook_edition: str(o.textbook_edition),
    chapter: str(o.chapter),
    description: str(o.description),
    origin: str(o.origin),
    duration_ms: num(o.duration_ms),
    knowledge_points: Array.isArray(o.knowledge_points) ? o.knowledge_points.filter((p): p is string => typeof p === 'string') : [],
    state: str(o.state),
    reject_reason: str(o.reject_reason),
    visibility: str(o.visibility),
    share_token: str(o.share_token),
    created_at: str(o.created_at),
    updated_at: str(o.updated_at),
    submitted_at: str(o.submitted_at),
    asset_state: str(o.asset_state),
    poster_url: str(o.poster_url),
  };
}

/** Reads a clip, tolerating missing fields; null without an id. */
export function parseClip(v: unknown): Clip | null {
  if (!v || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') return null;
  return {
    id: o.id,
    lesson_id: str(o.lesson_id),
    asset_id: str(o.asset_id),
    title: str(o.title),
    knowledge_point: str(o.knowledge_point),
    start_ms: num(o.start_ms),
    end_ms: num(o.end_ms),
    state: str(o.state),
    reject_reason: str(o.reject_reason),
    visibility: str(o.visibility),
    teacher_id: str(o.teacher_id),
    school_id: str(o.school_id),
    subject: str(o.subject),
    grade: str(o.grade),
    created_at: str(o.created_at),
    submitted_at: str(o.submitted_at),
  };
}

/** Reads {"clips":[...]}, oldest first by in point then creation. */
export function parseClipList(body: unknown): Clip[] {
  const list = (body as { clips?: unknown } | null)?.clips;
  if (!Array.isArray(list)) return [];
  return list
    .map(parseClip)
    .filter((c): c is Clip => c !== null)
    .sort((a, b) => a.start_ms - b.start_ms || a.created_at.localeCompare(b.created_at));
}

/** Reads {"points":[...]} of GET /api/v1/knowledge-points: trimmed, no blanks or repeats. */
export function parsePoints(body: unknown): string[] {
  const list = (body as { points?: unknown } | null)?.points;
  if (!Array.isArray(list)) return [];
  return uniq(list.filter((p): p is string => typeof p === 'string'));
}

function uniq(list: string[]): string[] {
  const out: string[] = [];
  for (const raw of list) {
    const p = raw.trim();
    if (p !== '' && !out.includes(p)) out.push(p);
  }
  return out;
}

/** Knowledge points typed into one box: split on commas (also 、，；;) and new lines. */
export function splitPoints(text: string): string[] {
  return uniq(text.split(/[,，、;；\n\r]+/));
}

/** The lesson's own id from /lessons/<id> (or ?id= on /lesson.html); null when invalid. */
export function idFromPath(url: URL | string, prefix: 'lessons' | 'clips'): string | null {
  const u = typeof url === 'string' ? new URL(url, 'http://localhost') : url;
  const m = new RegExp(`^/${prefix}/([^/]+)/?$`).exec(u.pathname);
  let raw = u.searchParams.get('id') ?? '';
  if (m) {
    try {
      raw = decodeURIComponent(m[1]!);
    } catch {
      return null;
    }
  }
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(raw) ? raw : null;
}

/** Who is asking: their id and role, null when anonymous. */
export interface Caller {
  id: string;
  role: string;
}

/** The review buttons to show the caller for an object of ownerId in state, as the server allows them (mayReview). */
export function reviewActions(caller: Caller | null, ownerId: string, state: string): ('submit' | 'approve' | 'reject' | 'publish')[] {
  if (!caller) return [];
  const admin = caller.role === 'admin';
  const reviewer = admin || caller.role === 'reviewer';
  const owner = admin || (ownerId !== '' && caller.id === ownerId);
  const out: ('submit' | 'approve' | 'reject' | 'publish')[] = [];
  if (owner && (state === 'draft' || state === 'rejected')) out.push('submit');
  if (reviewer && state === 'submitted' && (admin || caller.id !== ownerId)) out.push('approve', 'reject');
  if (reviewer && state === 'approved') out.push('publish');
  return out;
}

/** True when the caller may change the content of an object of ownerId in state (owner in draft or rejected; admins always). */
export function canEdit(caller: Caller | null, ownerId: string, state: string): boolean {
  if (!caller) return false;
  if (caller.role === 'admin') return true;
  return ownerId !== '' && caller.id === ownerId && (state === 'draft' || state === 'rejected');
}

/** True when the caller owns the object (or is an admin): captions, clips. */
export function owns(caller: Caller | null, ownerId: string): boolean {
  return !!caller && (caller.role === 'admin' || (ownerId !== '' && caller.id === ownerId));
}

/** The editable fields of a lesson as the form holds them. */
export interface LessonForm {
  title: string;
  subject: string;
  grade: string;
  textbook_edition: string;
  chapter: string;
  description: string;
  knowledge_points: string[];
  visibility: string;
}

/** The PATCH body for what the form changed (trimmed); empty when nothing did. */
export function lessonPatch(l: Lesson, f: LessonForm): Partial<LessonForm> {
  const out: Partial<LessonForm> = {};
  const keys = ['title', 'subject', 'grade', 'textbook_edition', 'chapter', 'description', 'visibility'] as const;
  for (const k of keys) {
    const v = k === 'description' ? f[k].replace(/\s+$/, '') : f[k].trim();
    if (v !== l[k]) out[k] = v;
  }
  const pts = uniq(f.knowledge_points);
  if (pts.length !== l.knowledge_points.length || pts.some((p, i) => p !== l.knowledge_points[i])) out.knowledge_points = pts;
  return out;
}
