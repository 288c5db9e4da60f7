import { describe, expect, it } from 'vitest';
import { coveragePercent, mergeSuggestions, parseCoverage, parseCurricula, splitCoverage } from './library-coverage';

describe('parseCoverage', () => {
  const body = {
    subject: '数学',
    grade: '八年级',
    points: [
      { point: '勾股定理', covered: true, micro_lectures: 2, clip_ids: ['c1', 'c2'], lessons: 3, in_curriculum: true },
      { point: '勾股定理的逆定理', covered: false, micro_lectures: 0, clip_ids: [], lessons: 1, in_curriculum: true },
      { point: '', covered: true },
      { point: '一次函数', covered: false, micro_lectures: 0, clip_ids: null, lessons: 0, in_curriculum: true },
      { point: '课外拓展', covered: true, micro_lectures: 0, clip_ids: ['c9', 7], lessons: 0, in_curriculum: false },
      null,
    ],
    covered: 99,
    total: 99,
  };

  it('reads the points and recounts covered and total from them', () => {
    const c = parseCoverage(body);
    expect(c.subject).toBe('数学');
    expect(c.points.map((p) => p.point)).toEqual(['勾股定理', '勾股定理的逆定理', '一次函数', '课外拓展']);
    expect([c.covered, c.total]).toEqual([2, 4]);
    expect(c.points[0]!.clipIds).toEqual(['c1', 'c2']);
    expect(c.points[2]!.clipIds).toEqual([]);
    expect(c.points[3]).toEqual({ point: '课外拓展', covered: true, microLectures: 1, clipIds: ['c9'], lessons: 0, inCurriculum: false });
  });

  it('tolerates an empty or broken body', () => {
    expect(parseCoverage(null)).toEqual({ subject: '', grade: '', points: [], covered: 0, total: 0 });
    expect(parseCoverage({ points: 'x' }).total).toBe(0);
  });

  it('splits uncovered from covered in curriculum order', () => {
    const { uncovered, covered } = splitCoverage(parseCoverage(body).points);
    expect(uncovered.map((p) => p.point)).toEqual(['勾股定理的逆定理', '一次函数']);
    expect(covered.map((p) => p.point)).toEqual(['勾股定理', '课外拓展']);
  });
});

describe('coveragePercent', () => {
  it('floors and bounds', () => {
    expect(coveragePercent(0, 0)).toBe(0);
    expect(coveragePercent(1, 3)).toBe(33);
    expect(coveragePercent(199, 200)).toBe(99);
    expect(coveragePercent(5, 5)).toBe(100);
    expect(coveragePercent(7, 5)).toBe(100);
  });
});

describe('parseCurricula', () => {
  it('reads subjects and grades with their point counts, skipping broken entries', () => {
    const list = parseCurricula({
      curricula: [
        { subject: '数学', grade: '八年级', points: 12 },
        { subject: ' 物理 ', grade: '八年级', points: 'many' },
        { subject: '', grade: '七年级', points: 3 },
        null,
        { grade: '九年级' },
      ],
    });
    expect(list).toEqual([
      { subject: '数学', grade: '八年级', points: 12 },
      { subject: '物理', grade: '八年级', points: 0 },
    ]);
    expect(parseCurricula({})).toEqual([]);
    expect(parseCurricula(null)).toEqual([]);
  });
  it('puts the catalog\'s values before the fixed suggestions, once each', () => {
    expect(mergeSuggestions(['信息科技', '数学'], ['语文', '数学'])).toEqual(['信息科技', '数学', '语文']);
  });
});
