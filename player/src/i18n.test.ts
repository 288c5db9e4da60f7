import { describe, expect, it } from 'vitest';
import { lookup, messages, parseLang } from './i18n';

describe('lookup', () => {
  const dict = {
    hello: { zh: '你好，{name}', en: 'Hello, {name}' },
    onlyZh: { zh: '仅中文' },
  };

  it('returns the text for the language', () => {
    expect(lookup(dict, 'hello', 'zh', { name: '老师' })).toBe('你好，老师');
    expect(lookup(dict, 'hello', 'en', { name: 'teacher' })).toBe('Hello, teacher');
  });

  it('falls back to Chinese, then to the key', () => {
    expect(lookup(dict, 'onlyZh', 'en')).toBe('仅中文');
    expect(lookup(dict, 'missing.key', 'en')).toBe('missing.key');
  });

  it('leaves unknown placeholders alone and formats numbers', () => {
    expect(lookup(dict, 'hello', 'en')).toBe('Hello, {name}');
    expect(lookup(messages, 'list.viewers', 'zh', { n: 3 })).toBe('3 人观看');
    expect(lookup(dict, 'hello', 'en', { other: 1 })).toBe('Hello, {name}');
  });

  it('has both languages for every message', () => {
    for (const [key, entry] of Object.entries(messages)) {
      expect(entry.zh, key).not.toBe('');
      expect(entry.en, key).not.toBe('');
    }
  });

  it('has the texts the brief names', () => {
    expect(lookup(messages, 'msg.offline', 'zh')).toBe('直播未开始');
    expect(lookup(messages, 'msg.offline', 'en')).toBe('Stream not live');
    expect(lookup(messages, 'msg.unauthorized', 'zh')).toBe('无权观看');
    expect(lookup(messages, 'ctl.unmute', 'zh')).toBe('点击开启声音');
    expect(lookup(messages, 'ctl.unmute', 'en')).toBe('Tap to unmute');
    expect(lookup(messages, 'list.empty', 'zh')).toBe('暂无直播');
    expect(lookup(messages, 'live.title', 'zh', { path: 'school-a/room-101' })).toBe('classcast 直播 · school-a/room-101');
  });
});

describe('parseLang', () => {
  it('defaults to Chinese', () => {
    expect(parseLang(null)).toBe('zh');
    expect(parseLang('fr')).toBe('zh');
    expect(parseLang('zh')).toBe('zh');
    expect(parseLang('en')).toBe('en');
  });
});
