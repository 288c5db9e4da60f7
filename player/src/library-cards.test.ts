import { describe, expect, it } from 'vitest';
import { needsReviewBadge, parseLibraryPage, pointsToShow, subjectGrade } from './library-cards';

describe('parseLibraryPage', () => {
  it('reads lessons with their school and keeps total at least the page', () => {
    const page = parseLibraryPage({
      lessons: [
        { id: 'l1', title: '勾股定理', teacher_name: '王老师', school_id: 'school-a', district: '海淀', asset_id: 'a1', duration_ms: 2700000, state: 'published', knowledge_points: ['勾股定理', 3] },
        { title: 'no id' },
        { id: 'l2' },
      ],
      total: 1,
    });
    expect(page.lessons.map((l) => l.id)).toEqual(['l1', 'l2']);
    expect(page.total).toBe(2);
    expect(page.lessons[0]).toMatchObject({ school_id: 'school-a', district: '海淀', teacher_name: '王老师', knowledge_points: ['勾股定理'] });
    expect(page.lessons[1]).toMatchObject({ school_id: '', title: '', asset_id: '', knowledge_points: [] });
    expect(parseLibraryPage(null)).toEqual({ lessons: [], total: 0 });
  });
});

describe('pointsToShow', () => {
  const points = ['一次函数', '勾股定理', '勾股定理的逆定理', '实数', '一次函数'];
  it('puts what the search matched first and counts the rest', () => {
    expect(pointsToShow(points, '勾股', 3)).toEqual({ shown: ['勾股定理', '勾股定理的逆定理', '一次函数'], more: 1 });
  });
  it('keeps the order without a search, without duplicates or blanks', () => {
    expect(pointsToShow([...points, ' '], '', 2)).toEqual({ shown: ['一次函数', '勾股定理'], more: 2 });
    expect(pointsToShow([], '勾股')).toEqual({ shown: [], more: 0 });
  });
});

describe('card details', () => {
  it('badges every state but published', () => {
    expect(needsReviewBadge('published')).toBe(false);
    expect(['draft', 'submitted', 'approved', 'rejected', ''].map(needsReviewBadge)).toEqual([true, true, true, true, true]);
  });
  it('joins subject and grade', () => {
    expect(subjectGrade('数学', '八年级')).toBe('数学 · 八年级');
    expect(subjectGrade('', '八年级')).toBe('八年级');
    expect(subjectGrade(' ', '')).toBe('');
  });
});
