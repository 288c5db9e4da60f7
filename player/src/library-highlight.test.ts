import { describe, expect, it } from 'vitest';
import { matches, splitHighlight } from './library-highlight';

describe('splitHighlight', () => {
  it('marks a Chinese substring', () => {
    expect(splitHighlight('勾股定理 第一课', '勾股')).toEqual([
      { text: '勾股', match: true },
      { text: '定理 第一课', match: false },
    ]);
  });

  it('marks every occurrence, ignoring case, and keeps the original letters', () => {
    expect(splitHighlight('Unit 1: unit review', 'UNIT')).toEqual([
      { text: 'Unit', match: true },
      { text: ' 1: ', match: false },
      { text: 'unit', match: true },
      { text: ' review', match: false },
    ]);
  });

  it('joins back to the text and never overlaps', () => {
    const parts = splitHighlight('aaaa', 'aa');
    expect(parts).toEqual([
      { text: 'aa', match: true },
      { text: 'aa', match: true },
    ]);
    const text = '二次函数的图像与二次函数的性质';
    expect(splitHighlight(text, '二次函数').map((p) => p.text).join('')).toBe(text);
  });

  it('leaves the text whole without a search or a match', () => {
    expect(splitHighlight('勾股定理', '')).toEqual([{ text: '勾股定理', match: false }]);
    expect(splitHighlight('勾股定理', '   ')).toEqual([{ text: '勾股定理', match: false }]);
    expect(splitHighlight('勾股定理', '函数')).toEqual([{ text: '勾股定理', match: false }]);
    expect(splitHighlight('', '勾股')).toEqual([]);
  });

  it('trims the search and treats markup as text', () => {
    expect(splitHighlight('<b>勾股</b>', ' <b> ')).toEqual([
      { text: '<b>', match: true },
      { text: '勾股</b>', match: false },
    ]);
  });

  it('matches exactly when lower-casing changes the length', () => {
    // "İ".toLowerCase() is two UTF-16 units: the indexes would drift.
    const parts = splitHighlight('İstanbul 勾股', '勾股');
    expect(parts.map((p) => p.text).join('')).toBe('İstanbul 勾股');
    expect(parts.at(-1)).toEqual({ text: '勾股', match: true });
  });

  it('says whether there is a match', () => {
    expect(matches('王老师', '王')).toBe(true);
    expect(matches('王老师', '李')).toBe(false);
  });
});
