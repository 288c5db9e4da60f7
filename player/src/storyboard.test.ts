import { describe, expect, it } from 'vitest';
import { cueAt, parseStoryboard, parseVttTime } from './storyboard';

const BASE = 'https://school.example/vod/r1/storyboard.vtt';

describe('parseVttTime', () => {
  it('reads hours, minutes, seconds and milliseconds', () => {
    expect(parseVttTime('00:00:05.000')).toBe(5);
    expect(parseVttTime('01:02:03.456')).toBeCloseTo(3723.456, 6);
    expect(parseVttTime('02:03.5')).toBeCloseTo(123.5, 6);
    expect(parseVttTime('10:00:00,250')).toBeCloseTo(36000.25, 6);
    expect(parseVttTime(' 00:01.000 ')).toBe(1);
  });
  it('rejects what is not a timestamp', () => {
    for (const bad of ['', 'abc', '1.5', '00:61:00.000', '00:00:60.000', '-00:01.000']) {
      expect(parseVttTime(bad), bad).toBeNaN();
    }
  });
});

describe('parseStoryboard', () => {
  it('reads sprite regions and resolves the URLs against the VTT', () => {
    const vtt = [
      'WEBVTT',
      '',
      '00:00:00.000 --> 00:00:05.000',
      'storyboard.jpg#xywh=0,0,160,90',
      '',
      '00:00:05.000 --> 00:00:10.000',
      'storyboard.jpg#xywh=160,0,160,90',
      '',
    ].join('\n');
    expect(parseStoryboard(vtt, BASE)).toEqual([
      { start: 0, end: 5, url: 'https://school.example/vod/r1/storyboard.jpg', x: 0, y: 0, w: 160, h: 90 },
      { start: 5, end: 10, url: 'https://school.example/vod/r1/storyboard.jpg', x: 160, y: 0, w: 160, h: 90 },
    ]);
  });

  it('handles CRLF, a BOM, cue ids, settings, NOTE blocks, pixel: and several sprites', () => {
    const vtt =
      '\uFEFFWEBVTT - classcast storyboard\r\n\r\nNOTE made by the ladder\r\nsecond line\r\n\r\n' +
      'c1\r\n01:00:00.000 --> 01:00:10.000 align:start\r\nsprites/sb-1.jpg#xywh=pixel:320,180,160,90\r\n\r\n' +
      '00:10.000 --> 00:20.000\r\n/elsewhere/sb-0.jpg#xywh=0,90,160,90\r\n\r\n' +
      '00:00.000 --> 00:10.000\r\nhttps://cdn.example/sb-0.jpg#xywh=0,0,160,90\r\n';
    const cues = parseStoryboard(vtt, BASE);
    expect(cues.map((c) => [c.start, c.end, c.url, c.x, c.y])).toEqual([
      [0, 10, 'https://cdn.example/sb-0.jpg', 0, 0],
      [10, 20, 'https://school.example/elsewhere/sb-0.jpg', 0, 90],
      [3600, 3610, 'https://school.example/vod/r1/sprites/sb-1.jpg', 320, 180],
    ]);
  });

  it('keeps a cue without #xywh as the whole image', () => {
    const cues = parseStoryboard('WEBVTT\n\n00:00.000 --> 00:05.000\nthumb-0.jpg\n', BASE);
    expect(cues).toEqual([{ start: 0, end: 5, url: 'https://school.example/vod/r1/thumb-0.jpg', x: 0, y: 0, w: 0, h: 0 }]);
  });

  it('skips cues it cannot use', () => {
    const vtt = [
      'WEBVTT',
      '',
      '00:00:05.000 --> 00:00:01.000', // ends before it starts
      'a.jpg#xywh=0,0,160,90',
      '',
      'garbage --> 00:00:01.000',
      'a.jpg#xywh=0,0,160,90',
      '',
      '00:00:01.000 --> 00:00:02.000', // percent regions are not supported
      'a.jpg#xywh=percent:0,0,50,50',
      '',
      '00:00:02.000 --> 00:00:03.000', // empty size
      'a.jpg#xywh=0,0,0,90',
      '',
      '00:00:03.000 --> 00:00:04.000', // empty cue
      '',
      '00:00:04.000 --> 00:00:05.000',
      'a.jpg#xywh=10,20,30,40',
    ].join('\n');
    expect(parseStoryboard(vtt, BASE).map((c) => [c.start, c.x, c.y, c.w, c.h])).toEqual([[4, 10, 20, 30, 40]]);
  });

  it('gives nothing for a file that is not WebVTT', () => {
    expect(parseStoryboard('', BASE)).toEqual([]);
    expect(parseStoryboard('<html>404</html>', BASE)).toEqual([]);
    expect(parseStoryboard('WEBVTTX\n\n00:00.000 --> 00:01.000\na.jpg\n', BASE)).toEqual([]);
  });
});

describe('cueAt', () => {
  const cues = parseStoryboard(
    'WEBVTT\n\n' +
      [0, 5, 10, 15].map((s) => `00:00:${String(s).padStart(2, '0')}.000 --> 00:00:${String(s + 5).padStart(2, '0')}.000\nsb.jpg#xywh=${s * 32},0,160,90\n`).join('\n'),
    BASE,
  );

  it('finds the cue holding the time', () => {
    expect(cues).toHaveLength(4);
    expect(cueAt(cues, 0)?.start).toBe(0);
    expect(cueAt(cues, 4.999)?.start).toBe(0);
    expect(cueAt(cues, 5)?.start).toBe(5);
    expect(cueAt(cues, 12.3)?.x).toBe(320);
    expect(cueAt(cues, 19.9)?.start).toBe(15);
  });

  it('clamps times outside the cues and copes with none', () => {
    expect(cueAt(cues, -3)?.start).toBe(0);
    expect(cueAt(cues, 300)?.start).toBe(15);
    expect(cueAt(cues, NaN)?.start).toBe(0);
    expect(cueAt([], 3)).toBeNull();
  });
});
