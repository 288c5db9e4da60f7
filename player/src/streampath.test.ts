import { describe, expect, it } from 'vitest';
import { encodeStreamPath, livePageUrl, streamPathFromUrl, whepEndpoint } from './streampath';

describe('streamPathFromUrl', () => {
  it('strips /live/ and keeps the slashes', () => {
    expect(streamPathFromUrl('http://h:8080/live/school-a/room-101')).toBe('school-a/room-101');
    expect(streamPathFromUrl('/live/room1')).toBe('room1');
  });

  it('ignores the query, the fragment and extra slashes', () => {
    expect(streamPathFromUrl('/live/school-a/room-101/?token=abc#x')).toBe('school-a/room-101');
    expect(streamPathFromUrl('/live//school-a//room-101')).toBe('school-a/room-101');
  });

  it('decodes percent-escapes per segment', () => {
    expect(streamPathFromUrl('/live/%E5%AE%9E%E9%AA%8C%E4%B8%AD%E5%AD%A6/room%20101')).toBe('实验中学/room 101');
    expect(streamPathFromUrl('/live/a%2Fb')).toBe('a/b');
  });

  it('rejects empty, malformed and dot paths', () => {
    expect(streamPathFromUrl('/live/')).toBeNull();
    expect(streamPathFromUrl('/live/%E5%')).toBeNull();
    expect(streamPathFromUrl('/live.html?path=a/../b')).toBeNull();
    // URL parsing already folds %2E%2E segments, as the browser does before the request.
    expect(streamPathFromUrl('/live/a/%2E%2E/b')).toBe('b');
    expect(streamPathFromUrl('/')).toBeNull();
  });

  it('reads ?path= on /live.html (vite dev)', () => {
    expect(streamPathFromUrl('/live.html?path=school-a/room-101')).toBe('school-a/room-101');
    expect(streamPathFromUrl('/live.html')).toBeNull();
  });
});

describe('URLs from a path', () => {
  it('builds the WHEP endpoint and the live page', () => {
    expect(whepEndpoint('school-a/room-101')).toBe('/whep/school-a/room-101');
    expect(encodeStreamPath('实验/room 1')).toBe('%E5%AE%9E%E9%AA%8C/room%201');
    expect(livePageUrl('school-a/room-101')).toBe('/live/school-a/room-101');
    expect(livePageUrl('a/b', 't k&n')).toBe('/live/a/b?token=t%20k%26n');
  });

  it('round-trips', () => {
    for (const p of ['school-a/room-101', '实验/room 1', 'a_b/c-d/e']) {
      expect(streamPathFromUrl(new URL(livePageUrl(p), 'http://h'))).toBe(p);
    }
  });
});
