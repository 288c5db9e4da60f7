import { expect, it } from 'vitest';
import { parseStreams } from './api';

it('reads GET /api/v1/streams, live first', () => {
  const body = {
    streams: [
      { path: 'school-b/room-2', live: false, viewers: 0, tracks: [], source: 'rtsp-pull' },
      {
        path: 'school-a/room-101',
        live: true,
        viewers: 3,
        tracks: [{ codec: 'H264' }, { codec: 'MPEG4Audio' }],
        source: 'rtsp-publish',
      },
      { live: true },
      { path: 'school-a/room-100', live: true },
    ],
  };
  expect(parseStreams(body)).toEqual([
    { path: 'school-a/room-100', live: true, viewers: 0, codecs: [], source: '' },
    { path: 'school-a/room-101', live: true, viewers: 3, codecs: ['H264', 'MPEG4Audio'], source: 'rtsp-publish' },
    { path: 'school-b/room-2', live: false, viewers: 0, codecs: [], source: 'rtsp-pull' },
  ]);
});

it('treats anything else as no streams', () => {
  expect(parseStreams(null)).toEqual([]);
  expect(parseStreams({})).toEqual([]);
  expect(parseStreams({ streams: 'x' })).toEqual([]);
});
