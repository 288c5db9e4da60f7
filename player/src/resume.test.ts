import { describe, expect, it } from 'vitest';
import { MAX_RESUME_ENTRIES, parsePositions, recordPosition, resumePosition, type Positions } from './resume';

describe('resumePosition', () => {
  const saved: Positions = { a: { t: 300, at: 1 }, early: { t: 9.5, at: 1 }, late: { t: 1195, at: 1 } };

  it('resumes more than 10 s in and more than 10 s before the end', () => {
    expect(resumePosition(saved, 'a', 1200)).toBe(300);
    expect(resumePosition({ a: { t: 10.1, at: 1 } }, 'a', 1200)).toBe(10.1);
    expect(resumePosition({ a: { t: 1189.9, at: 1 } }, 'a', 1200)).toBe(1189.9);
  });

  it('starts from the beginning near either end or when nothing is saved', () => {
    expect(resumePosition(saved, 'early', 1200)).toBeNull();
    expect(resumePosition({ a: { t: 10, at: 1 } }, 'a', 1200)).toBeNull();
    expect(resumePosition(saved, 'late', 1200)).toBeNull();
    expect(resumePosition({ a: { t: 1190, at: 1 } }, 'a', 1200)).toBeNull();
    expect(resumePosition(saved, 'unknown', 1200)).toBeNull();
    expect(resumePosition(saved, 'toString', 1200)).toBeNull();
    // A position beyond a (re-made, shorter) recording's end.
    expect(resumePosition(saved, 'a', 200)).toBeNull();
  });

  it('applies only the start rule when the duration is unknown', () => {
    expect(resumePosition(saved, 'a', 0)).toBe(300);
    expect(resumePosition(saved, 'a', NaN)).toBe(300);
    expect(resumePosition(saved, 'early', Infinity)).toBeNull();
  });
});

describe('recordPosition', () => {
  it('saves, and forgets positions near the start or the end', () => {
    let p = recordPosition({}, 'a', 123.456, 1200, 1000);
    expect(p).toEqual({ a: { t: 123.5, at: 1000 } });
    p = recordPosition(p, 'b', 60, 1200, 2000);
    expect(Object.keys(p).sort()).toEqual(['a', 'b']);
    const finished = recordPosition(p, 'a', 1195, 1200, 3000);
    expect(finished).toEqual({ b: { t: 60, at: 2000 } });
    expect(p.a).toBeDefined(); // input untouched
    expect(recordPosition(p, 'b', 3, 1200, 3000)).toEqual({ a: { t: 123.5, at: 1000 } });
  });

  it(`keeps the ${MAX_RESUME_ENTRIES} most recently watched`, () => {
    let p: Positions = {};
    for (let i = 0; i < MAX_RESUME_ENTRIES + 5; i++) p = recordPosition(p, `r${i}`, 100, 1000, 10_000 + i);
    expect(Object.keys(p)).toHaveLength(MAX_RESUME_ENTRIES);
    for (let i = 0; i < 5; i++) expect(p[`r${i}`]).toBeUndefined();
    expect(p[`r${MAX_RESUME_ENTRIES + 4}`]).toEqual({ t: 100, at: 10_000 + MAX_RESUME_ENTRIES + 4 });
    // Watching an old one again keeps it.
    p = recordPosition(p, 'r5', 200, 1000, 99_999);
    p = recordPosition(p, 'new', 100, 1000, 100_000);
    expect(p.r5).toEqual({ t: 200, at: 99_999 });
    expect(p.r6).toBeUndefined();
  });
});

describe('parsePositions', () => {
  it('round-trips and drops malformed entries', () => {
    const p = recordPosition({}, 'a', 42, 100, 5);
    expect(parsePositions(JSON.stringify(p))).toEqual(p);
    expect(
      parsePositions(JSON.stringify({ ok: { t: 12, at: 3 }, neg: { t: -1, at: 3 }, str: { t: '12', at: 3 }, nul: null, noat: { t: 12 } })),
    ).toEqual({ ok: { t: 12, at: 3 } });
  });
  it('treats anything else as nothing saved', () => {
    expect(parsePositions(null)).toEqual({});
    expect(parsePositions('')).toEqual({});
    expect(parsePositions('{not json')).toEqual({});
    expect(parsePositions('[1,2]')).toEqual({});
    expect(parsePositions('42')).toEqual({});
  });
});
