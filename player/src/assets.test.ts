import { describe, expect, it } from 'vitest';
import {
  ASSET_STATES,
  assetIdFromUrl,
  assetListQuery,
  assetName,
  assetStateLabel,
  assetStepLabel,
  assetFrameRate,
  isSettled,
  libraryPageUrl,
  withToken,
  parseAsset,
  parseAssetPage,
  watchPageUrl,
} from './assets';

const sample = {
  id: 'r20261123t132700-ab12cd',
  kind: 'recording',
  title: '',
  stream_path: 'school-a/room-101',
  state: 'processing',
  step: 'ladder',
  percent: 42.5,
  error: '',
  duration_seconds: 1234.5,
  width: 1920,
  height: 1080,
  created_at: '2026-11-23T13:27:00Z',
  updated_at: '2026-11-23T13:50:00Z',
  started_at: '2026-11-23T13:27:00Z',
  ended_at: '2026-11-23T13:47:34Z',
  renditions: [
    { name: '720p', width: 1280, height: 720, bandwidth: 2800000, codecs: 'avc1.4d401f,mp4a.40.2', frame_rate: 29.97 },
    { name: 'audio', width: 0, height: 0, bandwidth: 96000, codecs: 'mp4a.40.2', frame_rate: 0 },
    { width: 1 },
  ],
  master_url: '',
  poster_url: '',
  storyboard_url: '',
};

describe('parseAsset', () => {
  it('reads the API fields', () => {
    const a = parseAsset(sample)!;
    expect(a.id).toBe('r20261123t132700-ab12cd');
    expect(a.percent).toBe(42.5);
    expect(a.duration_seconds).toBe(1234.5);
    expect(a.renditions).toEqual(sample.renditions.slice(0, 2));
    expect(assetFrameRate(a)).toBe(29.97);
    expect(assetName(a)).toBe('school-a/room-101');
    expect(assetName({ ...a, title: '二次函数' })).toBe('二次函数');
    expect(assetName({ ...a, stream_path: '' })).toBe(a.id);
  });
  it('tolerates missing and wrong fields, needs an id', () => {
    const a = parseAsset({ id: 'x', percent: 'lots', renditions: 'none', state: 7 })!;
    expect(a).toMatchObject({ id: 'x', percent: 0, renditions: [], state: '', master_url: '' });
    expect(parseAsset({ title: 'no id' })).toBeNull();
    // An asset made before the server recorded frame rates: the caller falls back.
    expect(assetFrameRate(parseAsset({ id: 'old', renditions: [{ name: '720p', width: 1280, height: 720 }] }))).toBe(0);
    expect(assetFrameRate(null)).toBe(0);
    expect(parseAsset(null)).toBeNull();
  });
});

describe('parseAssetPage', () => {
  it('sorts newest first and keeps the total', () => {
    const page = parseAssetPage({
      assets: [
        { id: 'old', created_at: '2026-11-20T08:00:00Z' },
        { id: 'new', created_at: '2026-11-23T08:00:00Z' },
        { nope: true },
        { id: 'mid', created_at: '2026-11-21T08:00:00Z' },
      ],
      total: 120,
    });
    expect(page.assets.map((a) => a.id)).toEqual(['new', 'mid', 'old']);
    expect(page.total).toBe(120);
  });
  it('treats anything else as an empty page', () => {
    expect(parseAssetPage(null)).toEqual({ assets: [], total: 0 });
    expect(parseAssetPage({ assets: {} })).toEqual({ assets: [], total: 0 });
    expect(parseAssetPage({ assets: [{ id: 'a' }] }).total).toBe(1);
  });
});

describe('state labels', () => {
  it('names every state in both languages', () => {
    expect(ASSET_STATES.map((s) => assetStateLabel(s, 'zh'))).toEqual(['录制中', '排队中', '处理中', '可观看', '失败']);
    expect(ASSET_STATES.map((s) => assetStateLabel(s, 'en'))).toEqual(['Recording', 'Queued', 'Processing', 'Ready', 'Failed']);
  });
  it('shows an unknown state or step as sent', () => {
    expect(assetStateLabel('archived', 'zh')).toBe('archived');
    expect(assetStateLabel('toString', 'zh')).toBe('toString');
    expect(assetStepLabel('ladder', 'zh')).toBe('转码');
    expect(assetStepLabel('ladder', 'en')).toBe('Transcoding');
    expect(assetStepLabel('thumbnails', 'en')).toBe('thumbnails');
  });
  it('knows which states are final', () => {
    expect(ASSET_STATES.filter(isSettled)).toEqual(['ready', 'failed']);
    expect(isSettled('')).toBe(false);
  });
});

describe('URLs', () => {
  it('reads the id from /watch/<id>', () => {
    expect(assetIdFromUrl('/watch/r20261123t132700-ab12cd')).toBe('r20261123t132700-ab12cd');
    expect(assetIdFromUrl('https://x.example/watch/c1.v2_x/?token=t')).toBe('c1.v2_x');
    expect(assetIdFromUrl('/watch.html?id=abc')).toBe('abc');
  });
  it('rejects what is not an id', () => {
    for (const bad of ['/watch/', '/watch/a/b', '/watch/..', '/watch/%2e%2e', '/watch/a%2Fb', '/watch/%E0%A4%A', '/watch/-x', '/watch.html', '/library']) {
      expect(assetIdFromUrl(bad), bad).toBeNull();
    }
    expect(assetIdFromUrl('/watch/' + 'a'.repeat(129))).toBeNull();
  });
  it('links pages, carrying the token', () => {
    expect(watchPageUrl('r1')).toBe('/watch/r1');
    expect(watchPageUrl('r1', 'a b&c')).toBe('/watch/r1?token=a%20b%26c');
    expect(libraryPageUrl()).toBe('/library');
    expect(libraryPageUrl('t')).toBe('/library?token=t');
    expect(withToken('/vod/r1/poster.jpg', 't')).toBe('/vod/r1/poster.jpg?token=t');
    expect(withToken('/vod/r1/sb.jpg?v=2#xywh=0,0,1,1', 't')).toBe('/vod/r1/sb.jpg?v=2&token=t#xywh=0,0,1,1');
    expect(withToken('/vod/r1/poster.jpg', null)).toBe('/vod/r1/poster.jpg');
    expect(withToken('', 't')).toBe('');
  });
  it('pages the list query', () => {
    expect(assetListQuery(1, 50, '')).toBe('/assets?limit=50&offset=0&state=');
    expect(assetListQuery(3, 50, 'ready')).toBe('/assets?limit=50&offset=100&state=ready');
    expect(assetListQuery(0, 50, '')).toBe('/assets?limit=50&offset=0&state=');
  });
});
