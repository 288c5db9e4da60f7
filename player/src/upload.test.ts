import type { HttpRequest, PreviousUpload } from 'tus-js-client';
import { describe, expect, it } from 'vitest';
import {
  CHUNK_SIZE,
  lessonMetadata,
  latestPrevious,
  parseUploadState,
  progressOf,
  RETRY_DELAYS,
  tusOptions,
  UPLOAD_ENDPOINT,
  uploadErrorMessage,
} from './upload';

describe('lessonMetadata', () => {
  it('keeps a Chinese name and title', () => {
    expect(lessonMetadata('勾股定理.mp4', ' 勾股定理 第一课 ')).toEqual({ filename: '勾股定理.mp4', title: '勾股定理 第一课' });
  });
  it('takes the title from the name without its extension', () => {
    expect(lessonMetadata('八年级 数学.final.mov', '')).toEqual({ filename: '八年级 数学.final.mov', title: '八年级 数学.final' });
    expect(lessonMetadata('.hidden', '')).toEqual({ filename: '.hidden', title: '.hidden' });
  });
  it('drops directories a path might carry', () => {
    expect(lessonMetadata('C:\\Users\\老师\\lesson.mp4', 't').filename).toBe('lesson.mp4');
    expect(lessonMetadata('/home/t/a.mp4', 't').filename).toBe('a.mp4');
  });
});

describe('progressOf', () => {
  it('rounds down to a tenth and clamps', () => {
    expect(progressOf(1, 3).percent).toBe(33.3);
    expect(progressOf(2 * 1024 ** 3 - 1, 2 * 1024 ** 3).percent).toBe(99.9);
    expect(progressOf(5, 4).percent).toBe(100);
    expect(progressOf(0, 0).percent).toBe(0);
  });
});

describe('latestPrevious', () => {
  const prev = (url: string | null, time: string): PreviousUpload => ({
    size: 10,
    metadata: {},
    creationTime: time,
    urlStorageKey: `tus::k::${time}`,
    uploadUrl: url,
    parallelUploadUrls: null,
  });
  it('picks the newest upload that has a URL', () => {
    const list = [
      prev('/api/v1/uploads/a', 'Mon Nov 23 2026 10:00:00 GMT+0000'),
      prev('/api/v1/uploads/b', 'Mon Nov 23 2026 12:00:00 GMT+0000'),
      prev(null, 'Mon Nov 23 2026 13:00:00 GMT+0000'),
    ];
    expect(latestPrevious(list)?.uploadUrl).toBe('/api/v1/uploads/b');
    expect(latestPrevious([])).toBeNull();
  });
});

describe('uploadErrorMessage', () => {
  it("shows the server's probe reason", () => {
    const body = 'ERR_NOT_MEDIA: 不是可用的视频文件 / not a usable video: not a supported audio or video file\n';
    expect(uploadErrorMessage(422, body)).toBe('不是可用的视频文件 / not a usable video: not a supported audio or video file');
  });
  it('explains size, sign-in and network failures', () => {
    expect(uploadErrorMessage(413, 'ERR_MAX_SIZE_EXCEEDED: maximum size exceeded', 4 * 1024 ** 3)).toContain('4 GiB');
    expect(uploadErrorMessage(401, '{"error":{}}')).toContain('sign in');
    expect(uploadErrorMessage(403, '')).toContain('not allowed');
    expect(uploadErrorMessage(0, '')).toContain('network');
    expect(uploadErrorMessage(500, '<html>')).toContain('HTTP 500');
  });
});

describe('tusOptions', () => {
  it('uses the endpoint, 8 MB chunks, retries, resumable fingerprints and the metadata', () => {
    const o = tusOptions('课.mp4', 123, { title: '' });
    expect(o.endpoint).toBe(UPLOAD_ENDPOINT);
    expect(o.chunkSize).toBe(CHUNK_SIZE);
    expect(CHUNK_SIZE).toBe(8 * 1024 * 1024);
    expect(o.retryDelays).toEqual([0, 1000, 3000, 5000, 10000, 20000]);
    expect(o.retryDelays).toBe(RETRY_DELAYS);
    expect(o.storeFingerprintForResuming).toBe(true);
    expect(o.removeFingerprintOnSuccess).toBe(true);
    expect(o.uploadSize).toBe(123);
    expect(o.metadata).toEqual({ filename: '课.mp4', title: '课' });
  });
  it('asks the header hook on every request', async () => {
    let token = 'one';
    const o = tusOptions('a.mp4', 1, { title: 't', headers: () => ({ 'X-CSRF-Token': token }) });
    const seen: string[] = [];
    const req = { setHeader: (k: string, v: string) => seen.push(`${k}=${v}`) } as unknown as HttpRequest;
    await o.onBeforeRequest?.(req);
    token = 'two';
    await o.onBeforeRequest?.(req);
    expect(seen).toEqual(['X-CSRF-Token=one', 'X-CSRF-Token=two']);
  });
  it('reports progress as percent', () => {
    const got: number[] = [];
    const o = tusOptions('a.mp4', 1, { title: 't', onProgress: (p) => got.push(p.percent) });
    o.onProgress?.(512, 1024);
    expect(got).toEqual([50]);
  });
});

describe('parseUploadState', () => {
  it('reads the server state and refuses junk', () => {
    expect(parseUploadState({ id: 'ab', state: 'rejected', offset: 5, size: 5, reason: 'the file is empty', title: '' })).toEqual({
      id: 'ab',
      state: 'rejected',
      offset: 5,
      size: 5,
      reason: 'the file is empty',
    });
    expect(parseUploadState({ id: 'ab', state: 'exploded' })).toBeNull();
    expect(parseUploadState(null)).toBeNull();
  });
});
