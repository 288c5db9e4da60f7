import { describe, expect, it } from 'vitest';
import { errorFromResponse, parseIceServerLinks, resolveResourceUrl } from './whep';

describe('resolveResourceUrl', () => {
  const post = 'http://10.0.0.5:8080/whep/school-a/room-101';

  it('resolves a root-relative Location', () => {
    expect(resolveResourceUrl('/whep/school-a/room-101/sessions/abc', post)).toBe(
      'http://10.0.0.5:8080/whep/school-a/room-101/sessions/abc',
    );
  });

  it('resolves a relative Location against the POST URL, like a browser would', () => {
    expect(resolveResourceUrl('sessions/abc', post)).toBe('http://10.0.0.5:8080/whep/school-a/sessions/abc');
    expect(resolveResourceUrl('room-101/abc', post)).toBe('http://10.0.0.5:8080/whep/school-a/room-101/abc');
    expect(resolveResourceUrl('../x', post)).toBe('http://10.0.0.5:8080/whep/x');
  });

  it('keeps an absolute Location, even on another host', () => {
    expect(resolveResourceUrl('https://edge-2.example/whep/s/1', post)).toBe('https://edge-2.example/whep/s/1');
  });
});

describe('errorFromResponse', () => {
  it('maps statuses to kinds', () => {
    expect(errorFromResponse(404, '').kind).toBe('not-live');
    expect(errorFromResponse(401, '').kind).toBe('unauthorized');
    expect(errorFromResponse(403, '').kind).toBe('unauthorized');
    expect(errorFromResponse(400, '').kind).toBe('bad-request');
    expect(errorFromResponse(500, '').kind).toBe('server');
    expect(errorFromResponse(503, '').kind).toBe('server');
  });

  it("reads the server's JSON error", () => {
    const e = errorFromResponse(400, '{"error":{"code":"bad_offer","message":"offer has no video"}}');
    expect(e.message).toBe('offer has no video');
    expect(e.code).toBe('bad_offer');
    expect(e.status).toBe(400);
  });

  it('copes with text and empty bodies', () => {
    expect(errorFromResponse(400, 'bad SDP\n').message).toBe('bad SDP');
    expect(errorFromResponse(502, '').message).toBe('HTTP 502');
    expect(errorFromResponse(400, '{"unexpected":true}').message).toBe('HTTP 400');
  });
});

describe('parseIceServerLinks', () => {
  it('reads ice-server links with and without credentials', () => {
    const header =
      '<stun:stun.example.net>; rel="ice-server", ' +
      '<turn:10.0.0.5:3478?transport=tcp>; rel="ice-server"; username="u1"; credential="p;1"; credential-type="password", ' +
      '</whep/a/b/sse>; rel="urn:ietf:params:whep:ext:core:server-sent-events"';
    expect(parseIceServerLinks(header)).toEqual([
      { urls: 'stun:stun.example.net' },
      { urls: 'turn:10.0.0.5:3478?transport=tcp', username: 'u1', credential: 'p;1' },
    ]);
  });

  it('accepts unquoted values and no header', () => {
    expect(parseIceServerLinks('<turn:h:3478>; rel=ice-server; username=a; credential=b')).toEqual([
      { urls: 'turn:h:3478', username: 'a', credential: 'b' },
    ]);
    expect(parseIceServerLinks(null)).toEqual([]);
    expect(parseIceServerLinks('')).toEqual([]);
  });
});
