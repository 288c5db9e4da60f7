import { describe, expect, it } from 'vitest';
import { canEdit, idFromPath, lessonPatch, owns, parseClipList, parseLesson, parsePoints, reviewActions, splitPoints } from './lesson-model';

const lesson = parseLesson({
  id: 'l1',
  title: '勾股定理',
  teacher_id: 'u1',
  subject: '数学',
  grade: '八年级',
  knowledge_points: ['勾股定理', '直角三角形'],
  state: 'draft',
  visibility: 'school',
  duration_ms: 2400000,
})!;

describe('parseLesson / parseClipList', () => {
  it('reads what is there and fills the rest', () => {
    expect(lesson.title).toBe('勾股定理');
    expect(lesson.description).toBe('');
    expect(lesson.duration_ms).toBe(2400000);
    expect(parseLesson({ title: 'no id' })).toBeNull();
  });
  it('lists clips by in point', () => {
    const clips = parseClipList({
      clips: [
        { id: 'c2', start_ms: 5000, end_ms: 9000, created_at: '2026-11-23T10:00:00Z' },
        { id: 'c1', start_ms: 1000, end_ms: 3000, asset_id: 'a1', state: 'draft' },
        { bad: true },
      ],
    });
    expect(clips.map((c) => c.id)).toEqual(['c1', 'c2']);
    expect(clips[0]!.asset_id).toBe('a1');
    expect(clips[1]!.asset_id).toBe('');
    expect(parseClipList(null)).toEqual([]);
  });
});

describe('knowledge points', () => {
  it('splits on Chinese and ASCII separators, without blanks or repeats', () => {
    expect(splitPoints('勾股定理，直角三角形、勾股定理\n 逆定理 ;; ')).toEqual(['勾股定理', '直角三角形', '逆定理']);
    expect(splitPoints('')).toEqual([]);
  });
  it('reads the curriculum list', () => {
    expect(parsePoints({ points: [' a ', 'b', 'a', 3, ''] })).toEqual(['a', 'b']);
    expect(parsePoints({})).toEqual([]);
  });
});

describe('idFromPath', () => {
  it('reads /lessons/<id> and /clips/<id>', () => {
    expect(idFromPath('/lessons/l-20261123-ab12', 'lessons')).toBe('l-20261123-ab12');
    expect(idFromPath('/clips/m1/', 'clips')).toBe('m1');
    expect(idFromPath('/lesson.html?id=l9', 'lessons')).toBe('l9');
    expect(idFromPath('/lessons/..%2Fx', 'lessons')).toBeNull();
    expect(idFromPath('/lessons/', 'lessons')).toBeNull();
  });
});

describe('who may do what', () => {
  const owner = { id: 'u1', role: 'teacher' };
  const other = { id: 'u2', role: 'teacher' };
  const reviewer = { id: 'r1', role: 'reviewer' };
  const ownReviewer = { id: 'u1', role: 'reviewer' };
  const admin = { id: 'a1', role: 'admin' };
  it('offers submit to the owner in draft or rejected', () => {
    expect(reviewActions(owner, 'u1', 'draft')).toEqual(['submit']);
    expect(reviewActions(owner, 'u1', 'rejected')).toEqual(['submit']);
    expect(reviewActions(owner, 'u1', 'submitted')).toEqual([]);
    expect(reviewActions(other, 'u1', 'draft')).toEqual([]);
    expect(reviewActions(null, 'u1', 'draft')).toEqual([]);
  });
  it('offers approve and reject to reviewers of others’ submitted work, publish once approved', () => {
    expect(reviewActions(reviewer, 'u1', 'submitted')).toEqual(['approve', 'reject']);
    expect(reviewActions(ownReviewer, 'u1', 'submitted')).toEqual([]);
    expect(reviewActions(reviewer, 'u1', 'approved')).toEqual(['publish']);
    expect(reviewActions(ownReviewer, 'u1', 'approved')).toEqual(['publish']);
    expect(reviewActions(admin, 'a1', 'submitted')).toEqual(['approve', 'reject']);
    expect(reviewActions(reviewer, 'u1', 'published')).toEqual([]);
  });
  it('lets the owner edit in draft or rejected, admins always', () => {
    expect(canEdit(owner, 'u1', 'draft')).toBe(true);
    expect(canEdit(owner, 'u1', 'submitted')).toBe(false);
    expect(canEdit(other, 'u1', 'draft')).toBe(false);
    expect(canEdit(admin, 'u1', 'published')).toBe(true);
    expect(owns(owner, 'u1')).toBe(true);
    expect(owns(other, 'u1')).toBe(false);
    expect(owns(null, '')).toBe(false);
  });
});

describe('lessonPatch', () => {
  const form = {
    title: '勾股定理',
    subject: '数学',
    grade: '八年级',
    textbook_edition: '',
    chapter: '',
    description: '',
    knowledge_points: ['勾股定理', '直角三角形'],
    visibility: 'school',
  };
  it('is empty when nothing changed', () => {
    expect(lessonPatch(lesson, form)).toEqual({});
    expect(lessonPatch(lesson, { ...form, title: ' 勾股定理 ' })).toEqual({});
  });
  it('carries only the changed fields', () => {
    expect(lessonPatch(lesson, { ...form, chapter: '第十七章', knowledge_points: ['勾股定理'] })).toEqual({
      chapter: '第十七章',
      knowledge_points: ['勾股定理'],
    });
    expect(lessonPatch(lesson, { ...form, visibility: 'public' })).toEqual({ visibility: 'public' });
  });
});
