import { describe, expect, it } from 'vitest';
import { timelineTiles, timeToX, xToTime } from './clip-timeline';

describe('timeToX / xToTime', () => {
  it('maps time to pixels and back', () => {
    expect(timeToX(30, 120, 600)).toBe(150);
    expect(xToTime(150, 120, 600)).toBe(30);
    for (const t of [0, 1.5, 60, 119.96, 120]) expect(xToTime(timeToX(t, 120, 600), 120, 600)).toBeCloseTo(t, 9);
  });
  it('clamps to the strip', () => {
    expect(timeToX(-5, 120, 600)).toBe(0);
    expect(timeToX(500, 120, 600)).toBe(600);
    expect(xToTime(-20, 120, 600)).toBe(0);
    expect(xToTime(900, 120, 600)).toBe(120);
  });
  it('is 0 while the duration or width is unknown', () => {
    expect(timeToX(10, 0, 600)).toBe(0);
    expect(xToTime(10, 120, 0)).toBe(0);
    expect(xToTime(NaN, 120, 600)).toBe(0);
  });
});

describe('timelineTiles', () => {
  const cue = (start: number) => ({ start, end: start + 10, url: 'sb.jpg', x: (start / 10) * 160, y: 0, w: 160, h: 90 });
  const cues = [0, 10, 20, 30, 40, 50].map(cue);
  it('fills the strip with tiles at the sprite aspect, each showing the cue at its middle', () => {
    const tiles = timelineTiles(cues, 60, 320, 45);
    expect(tiles).toHaveLength(4); // 45 px tall → 80 px wide tiles
    expect(tiles.map((t) => t.x)).toEqual([0, 80, 160, 240]);
    expect(tiles.map((t) => t.cue.start)).toEqual([0, 20, 30, 50]); // middles 7.5, 22.5, 37.5, 52.5
  });
  it('is empty without cues or size', () => {
    expect(timelineTiles([], 60, 320, 45)).toEqual([]);
    expect(timelineTiles(cues, 0, 320, 45)).toEqual([]);
  });
});
