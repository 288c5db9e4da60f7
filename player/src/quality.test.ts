import { describe, expect, it } from 'vitest';
import { formatSpeed, levelLabels, parseSpeed, qualityLabel, qualityName, SPEEDS, stepSpeed } from './quality';

describe('qualityName', () => {
  it('names video levels by the short side of the picture', () => {
    expect(qualityName({ width: 1920, height: 1080 })).toBe('1080p');
    expect(qualityName({ width: 1280, height: 720 })).toBe('720p');
    expect(qualityName({ width: 854, height: 480 })).toBe('480p');
    expect(qualityName({ width: 640, height: 360 })).toBe('360p');
    expect(qualityName({ width: 720, height: 1280 })).toBe('720p');
    expect(qualityName({ width: 1920, height: 1088 })).toBe('1080p');
    expect(qualityName({ width: 1000, height: 600 })).toBe('600p');
    expect(qualityName({ height: 720 })).toBe('720p');
  });
  it('names a level without picture audio', () => {
    expect(qualityName({ width: 0, height: 0, bitrate: 96000 })).toBe('audio');
    expect(qualityName({})).toBe('audio');
    expect(qualityName({ videoCodec: 'avc1.4d401f' })).toBe('?');
  });
});

describe('labels', () => {
  it('says audio only in both languages', () => {
    expect(qualityLabel('audio', 'zh')).toBe('仅音频');
    expect(qualityLabel('audio', 'en')).toBe('Audio only');
    expect(qualityLabel('720p', 'zh')).toBe('720p');
  });
  it('adds the bit rate only where names collide', () => {
    const levels = [
      { width: 1920, height: 1080, bitrate: 5_000_000 },
      { width: 1280, height: 720, bitrate: 2_800_000 },
      { width: 1280, height: 720, bitrate: 1_500_000 },
      { width: 0, height: 0, bitrate: 96_000 },
    ];
    expect(levelLabels(levels, 'zh')).toEqual(['1080p', '720p · 2.8 Mbps', '720p · 1.5 Mbps', '仅音频']);
    expect(levelLabels(levels, 'en')[3]).toBe('Audio only');
  });
});

describe('speeds', () => {
  it('offers 0.75 to 2x', () => {
    expect([...SPEEDS]).toEqual([0.75, 1, 1.25, 1.5, 2]);
    expect(SPEEDS.map(formatSpeed)).toEqual(['0.75x', '1x', '1.25x', '1.5x', '2x']);
  });
  it('steps up and down and stops at the ends', () => {
    expect(stepSpeed(1, 1)).toBe(1.25);
    expect(stepSpeed(1.5, 1)).toBe(2);
    expect(stepSpeed(2, 1)).toBe(2);
    expect(stepSpeed(1, -1)).toBe(0.75);
    expect(stepSpeed(0.75, -1)).toBe(0.75);
    expect(stepSpeed(1.1, 1)).toBe(1.25);
    expect(stepSpeed(1.1, -1)).toBe(1);
    expect(stepSpeed(3, -1)).toBe(2);
  });
  it('reads only known speeds from storage', () => {
    expect(parseSpeed('1.5')).toBe(1.5);
    expect(parseSpeed('3')).toBe(1);
    expect(parseSpeed(null)).toBe(1);
    expect(parseSpeed('abc')).toBe(1);
  });
});
