// Turns RTCPeerConnection.getStats() reports into the numbers a viewer (or a
// test) cares about. Rates come from the difference between two reports.

/** Latest connection stats, as shown in the stats panel and exposed on window.__classcast.stats. */
export interface LiveStats {
  /** Report time, ms since the epoch. */
  timestamp: number;
  width: number | null;
  height: number | null;
  /** Decoded frames per second: framesPerSecond, or the framesDecoded delta. */
  fps: number | null;
  /** Bits per second from the bytesReceived delta; null on the first report. */
  videoBitrate: number | null;
  audioBitrate: number | null;
  /** Codec names from the codec stats' mimeType: "H264", "VP8", "opus"... */
  videoCodec: string | null;
  audioCodec: string | null;
  /** The negotiated video fmtp line, e.g. "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f". */
  videoCodecFmtp: string | null;
  videoPacketsReceived: number;
  videoPacketsLost: number;
  audioPacketsReceived: number;
  audioPacketsLost: number;
  /** Video + audio. */
  packetsLost: number;
  /** packetsLost / (packetsReceived + packetsLost) * 100, over the whole session. */
  packetLossPercent: number;
  /** Interarrival jitter in ms (RTCP definition). */
  videoJitterMs: number | null;
  audioJitterMs: number | null;
  /** Average time a video frame waited in the jitter buffer, ms. */
  videoJitterBufferMs: number | null;
  /** currentRoundTripTime of the selected candidate pair, ms. */
  rttMs: number | null;
  framesDecoded: number;
  framesDropped: number;
  keyFramesDecoded: number;
  freezeCount: number;
  /** Audio samples the receiver got (totalSamplesReceived). */
  totalSamplesReceived: number;
  concealedSamples: number;
  videoBytesReceived: number;
  audioBytesReceived: number;
  /** Selected candidate pair: "udp" | "tcp", and candidate types ("host", "srflx", "prflx", "relay"). */
  transportProtocol: string | null;
  /** For a relay candidate, how the browser reaches the TURN server: "udp" | "tcp" | "tls". */
  relayProtocol: string | null;
  localCandidateType: string | null;
  remoteCandidateType: string | null;
}

type Stat = { id: string; type: string; timestamp?: number; [k: string]: unknown };

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function codecName(mimeType: unknown): string | null {
  const m = str(mimeType);
  if (!m) return null;
  const slash = m.indexOf('/');
  return slash >= 0 ? m.slice(slash + 1) : m;
}

function rate(bytes: number, prevBytes: number | undefined, dtMs: number): number | null {
  if (prevBytes === undefined || dtMs <= 0 || bytes < prevBytes) return null;
  return ((bytes - prevBytes) * 8 * 1000) / dtMs;
}

/**
 * Computes LiveStats from a getStats() report (any iterable of stats objects,
 * e.g. report.values()) and the previous result, for the rates. Pure.
 */
export function computeStats(report: Iterable<unknown>, prev: LiveStats | null, now = Date.now()): LiveStats {
  const byId = new Map<string, Stat>();
  let video: Stat | undefined;
  let audio: Stat | undefined;
  let transport: Stat | undefined;
  const pairs: Stat[] = [];
  for (const raw of report) {
    const s = raw as Stat;
    byId.set(s.id, s);
    if (s.type === 'inbound-rtp') {
      const kind = s.kind ?? s.mediaType;
      if (kind === 'video' && !video) video = s;
      if (kind === 'audio' && !audio) audio = s;
    } else if (s.type === 'transport' && !transport) {
      transport = s;
    } else if (s.type === 'candidate-pair') {
      pairs.push(s);
    }
  }

  let pair: Stat | undefined;
  const selectedId = str(transport?.selectedCandidatePairId);
  if (selectedId) pair = byId.get(selectedId);
  pair ??= pairs.find((p) => p.selected === true) ?? pairs.find((p) => p.nominated === true && p.state === 'succeeded');
  const local = pair ? byId.get(String(pair.localCandidateId)) : undefined;
  const remote = pair ? byId.get(String(pair.remoteCandidateId)) : undefined;

  const dt = prev ? now - prev.timestamp : 0;
  const vBytes = num(video?.bytesReceived) ?? 0;
  const aBytes = num(audio?.bytesReceived) ?? 0;
  const framesDecoded = num(video?.framesDecoded) ?? 0;
  const vRecv = num(video?.packetsReceived) ?? 0;
  const aRecv = num(audio?.packetsReceived) ?? 0;
  // packetsLost can go negative with duplicates; a viewer wants "how many are missing".
  const vLost = Math.max(0, num(video?.packetsLost) ?? 0);
  const aLost = Math.max(0, num(audio?.packetsLost) ?? 0);
  const lost = vLost + aLost;
  const expected = vRecv + aRecv + lost;

  let fps = num(video?.framesPerSecond);
  if (fps === null && prev && dt > 0 && framesDecoded >= prev.framesDecoded) {
    fps = ((framesDecoded - prev.framesDecoded) * 1000) / dt;
  }
  const jbDelay = num(video?.jitterBufferDelay);
  const jbCount = num(video?.jitterBufferEmittedCount);
  const vJitter = num(video?.jitter);
  const aJitter = num(audio?.jitter);
  const rtt = num(pair?.currentRoundTripTime);

  return {
    timestamp: now,
    width: num(video?.frameWidth),
    height: num(video?.frameHeight),
    fps: fps === null ? null : Math.round(fps * 10) / 10,
    videoBitrate: video ? rate(vBytes, prev?.videoBytesReceived, dt) : null,
    audioBitrate: audio ? rate(aBytes, prev?.audioBytesReceived, dt) : null,
    videoCodec: codecName(video && byId.get(String(video.codecId))?.mimeType),
    audioCodec: codecName(audio && byId.get(String(audio.codecId))?.mimeType),
    videoCodecFmtp: str(video && byId.get(String(video.codecId))?.sdpFmtpLine),
    videoPacketsReceived: vRecv,
    videoPacketsLost: vLost,
    audioPacketsReceived: aRecv,
    audioPacketsLost: aLost,
    packetsLost: lost,
    packetLossPercent: expected > 0 ? (lost * 100) / expected : 0,
    videoJitterMs: vJitter === null ? null : vJitter * 1000,
    audioJitterMs: aJitter === null ? null : aJitter * 1000,
    videoJitterBufferMs: jbDelay !== null && jbCount ? (jbDelay * 1000) / jbCount : null,
    rttMs: rtt === null ? null : rtt * 1000,
    framesDecoded,
    framesDropped: num(video?.framesDropped) ?? 0,
    keyFramesDecoded: num(video?.keyFramesDecoded) ?? 0,
    freezeCount: num(video?.freezeCount) ?? 0,
    totalSamplesReceived: num(audio?.totalSamplesReceived) ?? 0,
    concealedSamples: num(audio?.concealedSamples) ?? 0,
    videoBytesReceived: vBytes,
    audioBytesReceived: aBytes,
    transportProtocol: str(local?.protocol),
    relayProtocol: str(local?.relayProtocol),
    localCandidateType: str(local?.candidateType),
    remoteCandidateType: str(remote?.candidateType),
  };
}

/** "1.23 Mbps", "96 kbps", "—". */
export function formatBitrate(bps: number | null): string {
  if (bps === null) return '—';
  if (bps >= 1_000_000) return `${(bps / 1_000_000).toFixed(2)} Mbps`;
  return `${Math.round(bps / 1000)} kbps`;
}
