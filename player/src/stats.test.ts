import { expect, it } from 'vitest';
import { computeStats, formatBitrate } from './stats';

// Shaped like Chromium's getStats() output, trimmed to what computeStats reads.
function report(t: number, o: { vBytes: number; aBytes: number; frames: number; fps?: number }) {
  return [
    { id: 'T01', type: 'transport', timestamp: t, selectedCandidatePairId: 'CP1' },
    { id: 'CP1', type: 'candidate-pair', localCandidateId: 'IL', remoteCandidateId: 'IR', currentRoundTripTime: 0.012, nominated: true, state: 'succeeded' },
    { id: 'CP2', type: 'candidate-pair', localCandidateId: 'IL', remoteCandidateId: 'IR2', currentRoundTripTime: 0.5 },
    { id: 'IL', type: 'local-candidate', protocol: 'udp', candidateType: 'host' },
    { id: 'IR', type: 'remote-candidate', protocol: 'udp', candidateType: 'host' },
    { id: 'CV', type: 'codec', mimeType: 'video/H264', sdpFmtpLine: 'packetization-mode=1;profile-level-id=42e01f' },
    { id: 'CA', type: 'codec', mimeType: 'audio/opus' },
    {
      id: 'IV', type: 'inbound-rtp', kind: 'video', codecId: 'CV', bytesReceived: o.vBytes, packetsReceived: 990, packetsLost: 10,
      framesDecoded: o.frames, framesPerSecond: o.fps, frameWidth: 1280, frameHeight: 720, jitter: 0.004,
      jitterBufferDelay: 3, jitterBufferEmittedCount: 100, framesDropped: 1, keyFramesDecoded: 2, freezeCount: 0,
    },
    {
      id: 'IA', type: 'inbound-rtp', kind: 'audio', codecId: 'CA', bytesReceived: o.aBytes, packetsReceived: 500, packetsLost: -1,
      jitter: 0.002, totalSamplesReceived: 48000, concealedSamples: 10,
    },
  ];
}

it('reads the values and computes rates from the previous report', () => {
  const first = computeStats(report(0, { vBytes: 100_000, aBytes: 4_000, frames: 30 }), null, 1000);
  expect(first.videoBitrate).toBeNull();
  expect(first.fps).toBeNull();
  expect(first).toMatchObject({
    width: 1280, height: 720, videoCodec: 'H264', audioCodec: 'opus',
    videoCodecFmtp: 'packetization-mode=1;profile-level-id=42e01f', rttMs: 12,
    videoJitterMs: 4, audioJitterMs: 2, videoJitterBufferMs: 30,
    framesDecoded: 30, totalSamplesReceived: 48000,
    videoPacketsLost: 10, audioPacketsLost: 0, packetsLost: 10,
    transportProtocol: 'udp', localCandidateType: 'host', remoteCandidateType: 'host',
  });
  expect(first.packetLossPercent).toBeCloseTo((10 * 100) / 1500);

  const second = computeStats(report(0, { vBytes: 350_000, aBytes: 8_000, frames: 55 }), first, 2000);
  expect(second.videoBitrate).toBe(2_000_000);
  expect(second.audioBitrate).toBe(32_000);
  expect(second.fps).toBe(25);

  const withFps = computeStats(report(0, { vBytes: 1, aBytes: 1, frames: 60, fps: 29.97 }), second, 3000);
  expect(withFps.fps).toBe(30);
  expect(withFps.videoBitrate).toBeNull(); // counters went back: a new session
});

it('copes with an empty report', () => {
  const s = computeStats([], null, 5);
  expect(s).toMatchObject({ width: null, videoCodec: null, rttMs: null, packetsLost: 0, packetLossPercent: 0, framesDecoded: 0 });
});

it('formats bitrates', () => {
  expect(formatBitrate(null)).toBe('—');
  expect(formatBitrate(96_400)).toBe('96 kbps');
  expect(formatBitrate(2_345_678)).toBe('2.35 Mbps');
});
