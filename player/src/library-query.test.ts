import { describe, expect, it } from 'vitest';
import {
  clampPage,
  cleanQuery,
  coverageApiPath,
  coverageQueryFromParams,
  EMPTY_LESSON_QUERY,
  isFiltered,
  lessonQueryFromParams,
  lessonQueryToParams,
  lessonsApiPath,
  pageCount,
  pageOffset,
  pageWindow,
  parsePage,
  tabHref,
  tabOf,
} from './library-query';

const params = (s: string) => new URLSearchParams(s);

describe('tabOf', () => {
  it('defaults to lessons and knows the three tabs', () => {
    expect(tabOf(params(''))).toBe('lessons');
    expect(tabOf(params('q=勾股'))).toBe('lessons');
    expect(tabOf(params('tab=coverage'))).toBe('coverage');
    expect(tabOf(params('tab=recordings&state=failed'))).toBe('recordings');
    expect(tabOf(params('tab=admin'))).toBe('lessons');
  });
});

describe('lesson queries and the URL', () => {
  it('reads a shared link: /library?q=勾股 opens with the search', () => {
    const url = new URL('http://x/library?q=%E5%8B%BE%E8%82%A1');
    expect(lessonQueryFromParams(url.searchParams)).toEqual({ ...EMPTY_LESSON_QUERY, q: '勾股' });
  });

  it('reads every filter and drops unknown sorts, states and bad pages', () => {
    expect(lessonQueryFromParams(params('q=+二次函数+&subject=数学&grade=八年级&state=submitted&sort=title&page=3&point=勾股定理'))).toEqual({
      q: '二次函数', subject: '数学', grade: '八年级', state: 'submitted', sort: 'title', page: 3, point: '勾股定理',
    });
    const bad = lessonQueryFromParams(params('state=deleted&sort=random&page=-2'));
    expect([bad.state, bad.sort, bad.page]).toEqual(['', '', 1]);
    expect(parsePage('2.7')).toBe(2);
    expect(parsePage('abc')).toBe(1);
    expect(parsePage(null)).toBe(1);
  });

  it('writes only what differs from the defaults, keeping tab and token, and reads back the same', () => {
    const q = { ...EMPTY_LESSON_QUERY, q: '勾股 定理', grade: '八年级', page: 2 };
    const p = lessonQueryToParams(q, { tab: 'lessons', token: 'tk', other: null });
    expect(p.toString()).toBe('tab=lessons&token=tk&q=%E5%8B%BE%E8%82%A1+%E5%AE%9A%E7%90%86&grade=%E5%85%AB%E5%B9%B4%E7%BA%A7&page=2');
    expect(lessonQueryFromParams(p)).toEqual(q);
    expect(lessonQueryToParams(EMPTY_LESSON_QUERY).toString()).toBe('');
  });

  it('cuts a search to the 100 characters the server accepts, counting characters not UTF-16 units', () => {
    expect(cleanQuery('  勾股  ')).toBe('勾股');
    const long = '𠮷'.repeat(120); // outside the BMP: two UTF-16 units each
    expect(Array.from(cleanQuery(long))).toHaveLength(100);
  });

  it('builds the API query with paging', () => {
    expect(lessonsApiPath(EMPTY_LESSON_QUERY)).toBe('/lessons?limit=24&offset=0');
    expect(lessonsApiPath({ ...EMPTY_LESSON_QUERY, q: '勾股', subject: '数学', state: 'draft', sort: 'oldest', page: 3 }, 10)).toBe(
      '/lessons?q=%E5%8B%BE%E8%82%A1&subject=%E6%95%B0%E5%AD%A6&state=draft&sort=oldest&limit=10&offset=20',
    );
    expect(lessonsApiPath({ ...EMPTY_LESSON_QUERY, q: 'a&b=c' })).toBe('/lessons?q=a%26b%3Dc&limit=24&offset=0');
  });

  it('knows a filtered query from the plain list', () => {
    expect(isFiltered(EMPTY_LESSON_QUERY)).toBe(false);
    expect(isFiltered({ ...EMPTY_LESSON_QUERY, sort: 'title', page: 4 })).toBe(false);
    expect(isFiltered({ ...EMPTY_LESSON_QUERY, point: '勾股定理' })).toBe(true);
  });
});

describe('coverage queries', () => {
  it('needs both subject and grade', () => {
    expect(coverageApiPath(coverageQueryFromParams(params('tab=coverage&subject=数学')))).toBeNull();
    expect(coverageApiPath({ subject: '数学', grade: '八年级' })).toBe('/coverage?subject=%E6%95%B0%E5%AD%A6&grade=%E5%85%AB%E5%B9%B4%E7%BA%A7');
  });
});

describe('tabHref', () => {
  it('links a tab with the token', () => {
    expect(tabHref('recordings')).toBe('/library?tab=recordings');
    expect(tabHref('coverage', 'a b')).toBe('/library?tab=coverage&token=a+b');
    expect(tabHref('lessons', null, { point: '勾股定理', subject: '' })).toBe('/library?tab=lessons&point=%E5%8B%BE%E8%82%A1%E5%AE%9A%E7%90%86');
  });
});

describe('paging', () => {
  it('computes offsets, page counts and clamps', () => {
    expect(pageOffset(1, 24)).toBe(0);
    expect(pageOffset(3, 24)).toBe(48);
    expect(pageOffset(0, 24)).toBe(0);
    expect(pageCount(0, 24)).toBe(1);
    expect(pageCount(24, 24)).toBe(1);
    expect(pageCount(25, 24)).toBe(2);
    expect(clampPage(9, 25, 24)).toBe(2);
    expect(clampPage(-1, 25, 24)).toBe(1);
  });

  it('shows the first, last and neighbouring pages with gaps', () => {
    expect(pageWindow(1, 1)).toEqual([1]);
    expect(pageWindow(2, 3)).toEqual([1, 2, 3]);
    expect(pageWindow(1, 10)).toEqual([1, 2, null, 10]);
    expect(pageWindow(5, 10)).toEqual([1, null, 4, 5, 6, null, 10]);
    // A gap of one page shows the page instead of "…".
    expect(pageWindow(4, 10)).toEqual([1, 2, 3, 4, 5, null, 10]);
    expect(pageWindow(10, 10)).toEqual([1, null, 9, 10]);
    expect(pageWindow(99, 10)).toEqual([1, null, 9, 10]);
  });
});
