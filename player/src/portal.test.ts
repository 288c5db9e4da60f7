import { describe, expect, it } from 'vitest';
import {
  assetBadge,
  auditDetailText,
  auditQuery,
  canSubmit,
  clipSpan,
  etaSeconds,
  formatBytes,
  formatEta,
  formatSpeed,
  lessonForUpload,
  lessonPatchFromUpload,
  lessonsQuery,
  mergeReviewItems,
  navLinks,
  pageQuery,
  pageRange,
  parseClip,
  parseLesson,
  parseLessonPage,
  parseReviewQueue,
  readablePassword,
  retryAfterSeconds,
  reviewActionPath,
  reviewBadge,
  roleLabel,
  rtspPublishUrl,
  SpeedMeter,
  uploadAssetId,
  uploadErrorText,
  uploadIdOf,
  uploadMetadata,
  visibilityLabel,
  type Lesson,
} from './portal';
import type { Me } from './session';

const meAs = (role: string): Me => ({ user: { id: 'u1', username: 'u', display_name: 'U', role }, method: 'session' });

describe('navLinks', () => {
  const keys = (me: Me | null) => navLinks(me).map((l) => l.key);
  it('shows anonymous visitors live and the library only', () => {
    expect(keys(null)).toEqual(['live', 'library']);
  });
  it('shows each role its pages', () => {
    expect(keys(meAs('viewer'))).toEqual(['live', 'library', 'me']);
    expect(keys(meAs('teacher'))).toEqual(['live', 'library', 'me', 'upload']);
    expect(keys(meAs('reviewer'))).toEqual(['live', 'library', 'me', 'review']);
    expect(keys(meAs('admin'))).toEqual(['live', 'library', 'me', 'upload', 'review', 'admin']);
  });
  it('links where the server serves the pages', () => {
    expect(navLinks(meAs('admin')).map((l) => l.href)).toEqual(['/', '/library', '/me', '/upload', '/review', '/admin']);
  });
});

describe('badges', () => {
  it('maps every review state to its label and colour', () => {
    expect(reviewBadge('draft', 'zh')).toEqual({ label: '草稿', state: 'draft' });
    expect(reviewBadge('submitted', 'zh')).toEqual({ label: '待审核', state: 'submitted' });
    expect(reviewBadge('approved', 'en')).toEqual({ label: 'Approved', state: 'approved' });
    expect(reviewBadge('rejected', 'zh')).toEqual({ label: '已退回', state: 'rejected' });
    expect(reviewBadge('published', 'zh')).toEqual({ label: '已发布', state: 'published' });
  });
  it('shows an unknown review state as sent, uncoloured', () => {
    expect(reviewBadge('archived', 'zh')).toEqual({ label: 'archived', state: '' });
    expect(reviewBadge('', 'zh')).toEqual({ label: '—', state: '' });
  });
  it('adds the percent to a processing asset only', () => {
    expect(assetBadge('processing', 42.9, 'zh')).toEqual({ label: '处理中 42%', state: 'processing' });
    expect(assetBadge('ready', 100, 'en')).toEqual({ label: 'Ready', state: 'ready' });
    expect(assetBadge('failed', 0, 'zh')).toEqual({ label: '失败', state: 'failed' });
    expect(assetBadge('weird', 0, 'zh')).toEqual({ label: 'weird', state: '' });
  });
});

describe('formatBytes and formatSpeed', () => {
  it('uses binary units with three significant digits', () => {
    expect(formatBytes(0)).toBe('0 B');
    expect(formatBytes(-5)).toBe('0 B');
    expect(formatBytes(NaN)).toBe('0 B');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.50 KB');
    expect(formatBytes(23308403)).toBe('22.2 MB');
    expect(formatBytes(4 * 1024 ** 3)).toBe('4.00 GB');
    expect(formatBytes(300 * 1024 ** 2)).toBe('300 MB');
  });
  it('says nothing for an unknown speed', () => {
    expect(formatSpeed(0)).toBe('');
    expect(formatSpeed(Infinity)).toBe('');
    expect(formatSpeed(2.5 * 1024 * 1024)).toBe('2.50 MB/s');
  });
});

describe('ETA', () => {
  it('rounds the seconds left up', () => {
    expect(etaSeconds(0, 100, 10)).toBe(10);
    expect(etaSeconds(95, 100, 10)).toBe(1);
    expect(etaSeconds(100, 100, 10)).toBe(0);
    expect(etaSeconds(150, 100, 10)).toBe(0);
  });
  it('is unknown without a rate or a size', () => {
    expect(etaSeconds(0, 100, 0)).toBeNull();
    expect(etaSeconds(0, 0, 10)).toBeNull();
    expect(etaSeconds(0, 100, NaN)).toBeNull();
  });
  it('reads like a person would say it', () => {
    expect(formatEta(45, 'zh')).toBe('45 秒');
    expect(formatEta(200, 'zh')).toBe('3 分 20 秒');
    expect(formatEta(3900, 'zh')).toBe('1 小时 5 分');
    expect(formatEta(45, 'en')).toBe('45 s');
    expect(formatEta(200, 'en')).toBe('3 min 20 s');
    expect(formatEta(3900, 'en')).toBe('1 h 5 min');
    expect(formatEta(null, 'zh')).toBe('');
    expect(formatEta(-1, 'zh')).toBe('');
  });
});

describe('SpeedMeter', () => {
  it('measures over the window only', () => {
    const m = new SpeedMeter(5000);
    expect(m.rate()).toBe(0);
    m.add(0, 0);
    m.add(100, 1000);
    expect(m.rate()).toBe(0); // under 200 ms: too soon to say
    m.add(1000, 1_000_000);
    expect(m.rate()).toBe(1_000_000);
    // A stall: 10 s later nothing more was sent; the old fast samples have left the window.
    m.add(6000, 1_000_000);
    m.add(11000, 1_000_000);
    expect(m.rate()).toBe(0);
  });
  it('starts over when the offset goes back (a restarted chunk)', () => {
    const m = new SpeedMeter();
    m.add(0, 5000);
    m.add(1000, 10000);
    m.add(1500, 2000);
    expect(m.rate()).toBe(0);
    m.add(2500, 4000);
    expect(m.rate()).toBe(2000);
    m.reset();
    expect(m.rate()).toBe(0);
  });
});

describe('queries', () => {
  it('builds the lessons query without empty values', () => {
    expect(lessonsQuery({})).toBe('');
    expect(lessonsQuery({ mine: true, sort: 'newest', limit: 20, offset: 40 })).toBe('?mine=1&sort=newest&limit=20&offset=40');
    expect(lessonsQuery({ state: 'approved', limit: 100, offset: 0 })).toBe('?state=approved&limit=100&offset=0');
  });
  it('clamps a page query', () => {
    expect(pageQuery(50, 100)).toBe('?limit=50&offset=100');
    expect(pageQuery(0, -3)).toBe('?limit=1&offset=0');
  });
  it('filters the audit log by actor and action', () => {
    expect(auditQuery(50, 0, '', '')).toBe('?limit=50&offset=0');
    expect(auditQuery(50, 50, ' admin ', 'review.*')).toBe('?limit=50&offset=50&actor=admin&action=review.*');
  });
  it('counts a page', () => {
    expect(pageRange(0, 20, 45)).toEqual({ from: 1, to: 20, total: 45 });
    expect(pageRange(40, 5, 45)).toEqual({ from: 41, to: 45, total: 45 });
    expect(pageRange(0, 0, 0)).toEqual({ from: 0, to: 0, total: 0 });
    expect(pageRange(0, 3, 0)).toEqual({ from: 1, to: 3, total: 3 });
  });
});

describe('retryAfterSeconds', () => {
  it('prefers the header, then the message, then a minute', () => {
    expect(retryAfterSeconds('59', 'try again in 58 s')).toBe(59);
    expect(retryAfterSeconds(null, 'too many failed sign-in attempts; try again in 42 s')).toBe(42);
    expect(retryAfterSeconds('soon', 'no number here')).toBe(60);
  });
});

describe('uploads', () => {
  const id = '551d8443359949cd3c2f85d4de224ac8';
  it('reads the upload id from its URL', () => {
    expect(uploadIdOf(`http://h:8080/api/v1/uploads/${id}`)).toBe(id);
    expect(uploadIdOf(`/api/v1/uploads/${id.toUpperCase()}/`)).toBe(id);
    expect(uploadIdOf('/api/v1/uploads/')).toBe('');
    expect(uploadIdOf('/api/v1/uploads/not-an-id')).toBe('');
  });
  it('finds the lesson the server made from the upload', () => {
    expect(uploadAssetId(id)).toBe(`u-${id}`);
    expect(uploadAssetId('')).toBe('');
    const lessons = [{ id: 'les-1', asset_id: 'r-live' }, { id: 'les-2', asset_id: `u-${id}` }] as Lesson[];
    expect(lessonForUpload(lessons, id)?.id).toBe('les-2');
    expect(lessonForUpload(lessons, 'ffffffffffffffffffffffffffffffff')).toBeNull();
    expect(lessonForUpload(lessons, '')).toBeNull();
  });
  it('sends the short fields as metadata, never the description', () => {
    expect(uploadMetadata('a.mp4', '勾股定理', { subject: ' 数学 ', grade: '八年级', chapter: '', description: 'long', visibility: 'school' })).toEqual({
      filename: 'a.mp4',
      title: '勾股定理',
      subject: '数学',
      grade: '八年级',
      visibility: 'school',
    });
  });
  it('patches the lesson with what the form gave, visibility only when not the default', () => {
    expect(lessonPatchFromUpload({ title: 't', subject: '数学', grade: '', description: ' 简介 ', visibility: 'school' })).toEqual({ subject: '数学', description: '简介' });
    expect(lessonPatchFromUpload({ visibility: 'public' })).toEqual({ visibility: 'public' });
    expect(lessonPatchFromUpload({})).toEqual({});
  });
  it('explains failures in the page language', () => {
    expect(uploadErrorText(413, 'ERR_UPLOAD_SIZE_EXCEEDED: maximum size exceeded', 'zh', 4 * 1024 ** 3)).toBe('文件太大：最大 4.00 GB');
    expect(uploadErrorText(413, '', 'en')).toBe('The file is too large for the server');
    expect(uploadErrorText(422, 'ERR_NOT_MEDIA: 不是可用的视频文件 / not a usable video: not a supported audio or video file', 'zh')).toBe(
      '不是可用的视频文件：not a supported audio or video file',
    );
    expect(uploadErrorText(422, '', 'en')).toBe('This is not a usable video file');
    expect(uploadErrorText(401, '{"error":{}}', 'zh')).toContain('登录已过期');
    expect(uploadErrorText(0, '', 'en')).toContain('network is down');
    expect(uploadErrorText(409, 'ERR_MISMATCHED_OFFSET: mismatched offset', 'en')).toBe('Upload failed: mismatched offset');
    expect(uploadErrorText(500, '{"error":{"code":"internal"}}', 'zh')).toBe('上传失败（HTTP 500）');
  });
});

describe('lessons and clips', () => {
  it('reads a lesson, tolerating missing fields', () => {
    const l = parseLesson({ id: 'les-1', title: '勾股定理', duration_ms: 20000, knowledge_points: ['勾股定理', 3], submitted_at: null });
    expect(l).toMatchObject({ id: 'les-1', title: '勾股定理', duration_ms: 20000, knowledge_points: ['勾股定理'], submitted_at: '', state: '' });
    expect(parseLesson({ title: 'no id' })).toBeNull();
    expect(parseLesson(null)).toBeNull();
  });
  it('reads a page of lessons', () => {
    expect(parseLessonPage({ lessons: [{ id: 'a' }, { bad: 1 }], total: 7 })).toMatchObject({ total: 7, lessons: [{ id: 'a' }] });
    expect(parseLessonPage(undefined)).toEqual({ lessons: [], total: 0 });
  });
  it('reads a clip and the review queue', () => {
    expect(parseClip({ id: 'ml-1', start_ms: 1000, end_ms: 61000, knowledge_point: '勾股定理' })).toMatchObject({ id: 'ml-1', start_ms: 1000, end_ms: 61000 });
    const q = parseReviewQueue({ lessons: [{ id: 'l' }], lessons_total: 3, clips: [{ id: 'c' }], clips_total: 1 });
    expect(q.lessons.map((x) => x.id)).toEqual(['l']);
    expect(q.clips.map((x) => x.id)).toEqual(['c']);
    expect(q.lessonsTotal).toBe(3);
    expect(q.clipsTotal).toBe(1);
  });
  it('lets a teacher submit from draft or rejected only', () => {
    expect(['draft', 'submitted', 'approved', 'rejected', 'published'].filter(canSubmit)).toEqual(['draft', 'rejected']);
  });
  it('shows a clip span as clock times', () => {
    expect(clipSpan(723000, 940000)).toBe('12:03–15:40');
  });
});

describe('review queue', () => {
  it('merges lessons and clips, oldest submission first', () => {
    const lesson = parseLesson({ id: 'les-b', title: 'B', submitted_at: '2026-11-23T10:00:00Z', duration_ms: 62000 })!;
    const early = parseLesson({ id: 'les-a', title: 'A', submitted_at: '2026-11-23T09:00:00Z' })!;
    const clip = parseClip({ id: 'ml-c', title: 'C', lesson_id: 'les-b', submitted_at: '2026-11-23T09:30:00Z', knowledge_point: '勾股定理', start_ms: 0, end_ms: 60000 })!;
    const items = mergeReviewItems([lesson, early], [clip]);
    expect(items.map((i) => `${i.kind}:${i.id}`)).toEqual(['lesson:les-a', 'clip:ml-c', 'lesson:les-b']);
    expect(items[1]!.detail).toBe('勾股定理 · 0:00–1:00');
    expect(items[2]!.detail).toBe('1:02');
  });
  it('puts items without a submission time last', () => {
    const a = parseLesson({ id: 'a' })!;
    const b = parseLesson({ id: 'b', submitted_at: '2026-01-01T00:00:00Z' })!;
    expect(mergeReviewItems([a, b], []).map((i) => i.id)).toEqual(['b', 'a']);
  });
  it('builds the action paths', () => {
    expect(reviewActionPath('lesson', 'les-1', 'approve')).toBe('/lessons/les-1/approve');
    expect(reviewActionPath('clip', 'ml 1', 'reject')).toBe('/clips/ml%201/reject');
  });
});

describe('admin', () => {
  it('builds the RTSP publish URL with encoded credentials', () => {
    expect(rtspPublishUrl('10.0.0.5', 8554, 'publisher', 'abc123', 'school-a/room-101')).toBe('rtsp://publisher:abc123@10.0.0.5:8554/school-a/room-101');
    expect(rtspPublishUrl('h', 554, 'p@x', 'a:b/c', '/room')).toBe('rtsp://p%40x:a%3Ab%2Fc@h:554/room');
    expect(rtspPublishUrl('h', 8554, '', '', 'room')).toBe('rtsp://h:8554/room');
  });
  it('shows an audit detail on one line', () => {
    expect(auditDetailText({ role: 'reviewer', sessions_ended: 0 })).toBe('role=reviewer sessions_ended=0');
    expect(auditDetailText({ reason: 'x'.repeat(100) })).toBe(`reason=${'x'.repeat(79)}…`);
    expect(auditDetailText(null)).toBe('');
  });
  it('makes readable passwords', () => {
    let n = 0;
    const rand = (len: number) => Uint32Array.from({ length: len }, () => n++);
    const pw = readablePassword(12, rand);
    expect(pw).toHaveLength(12);
    expect(pw).toMatch(/^[a-km-zA-HJ-NP-Z2-9]+$/);
    expect(pw.startsWith('abc')).toBe(true);
  });
  it('names roles and visibilities in both languages', () => {
    expect(roleLabel('teacher', 'zh')).toBe('教师');
    expect(roleLabel('reviewer', 'en')).toBe('Reviewer');
    expect(roleLabel('robot', 'zh')).toBe('robot');
    expect(visibilityLabel('district', 'zh')).toBe('本区县');
    expect(visibilityLabel('link', 'en')).toBe('My school and anyone with the link');
  });
});
