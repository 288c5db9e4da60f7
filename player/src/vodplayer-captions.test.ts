import { describe, expect, it } from 'vitest';
import { captionChoice, captionContentType, parseCaptionList, validCaptionLang } from './vodplayer-captions';

describe('parseCaptionList', () => {
  it('reads tracks, skipping bad ones and duplicates, sorted by language', () => {
    const body = {
      captions: [
        { lang: 'zh', label: '中文', url: '/api/v1/lessons/l1/captions/zh.vtt' },
        { lang: 'en', label: ' ', url: '/c/en.vtt' },
        { lang: 'zh', label: 'again', url: '/x' },
        { lang: 'bad lang', label: 'x', url: '/y' },
        { lang: 'fr', label: 'Français' },
        null,
      ],
    };
    expect(parseCaptionList(body)).toEqual([
      { lang: 'en', label: 'en', url: '/c/en.vtt' },
      { lang: 'zh', label: '中文', url: '/api/v1/lessons/l1/captions/zh.vtt' },
    ]);
  });
  it('gives nothing for a body without a list', () => {
    expect(parseCaptionList(null)).toEqual([]);
    expect(parseCaptionList({ captions: 'x' })).toEqual([]);
  });
});

describe('validCaptionLang', () => {
  it('accepts BCP 47 tags only', () => {
    expect(validCaptionLang('zh')).toBe(true);
    expect(validCaptionLang('zh-Hans')).toBe(true);
    expect(validCaptionLang('en-GB')).toBe(true);
    expect(validCaptionLang('')).toBe(false);
    expect(validCaptionLang('z')).toBe(false);
    expect(validCaptionLang('zh_CN')).toBe(false);
    expect(validCaptionLang('../x')).toBe(false);
  });
});

describe('captionChoice', () => {
  const tracks = [
    { lang: 'en', label: 'English', url: '/en' },
    { lang: 'zh-Hans', label: '简体', url: '/zh' },
  ];
  it('shows the wanted language, matching on the base tag', () => {
    expect(captionChoice(tracks, 'en', 'zh')).toBe('en');
    expect(captionChoice(tracks, 'EN', 'zh')).toBe('en');
    expect(captionChoice(tracks, 'zh', 'en')).toBe('zh-Hans');
  });
  it('shows nothing when off or not offered', () => {
    expect(captionChoice(tracks, '', 'zh')).toBe('');
    expect(captionChoice(tracks, 'fr', 'zh')).toBe('');
    expect(captionChoice([], 'en', 'en')).toBe('');
  });
});

describe('captionContentType', () => {
  it('knows WebVTT and SRT by name', () => {
    expect(captionContentType('lesson.VTT')).toBe('text/vtt');
    expect(captionContentType('a.b.srt')).toBe('application/x-subrip');
    expect(captionContentType('notes.txt')).toBeNull();
  });
});
