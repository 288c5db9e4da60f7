// The live player page, served for every /live/<path> URL: joins the stream
// over WHEP, plays it, keeps it playing, and shows how the connection is doing.

import './styles/base.css';
import './styles/live.css';
import { applyI18n, bindLangToggle, onLangChange, t, type MessageKey } from './i18n';
import { backoffMs, NOT_LIVE_RETRY_MS } from './retry';
import { computeStats, formatBitrate, type LiveStats } from './stats';
import { streamPathFromUrl, whepEndpoint } from './streampath';
import { whepConnect, WhepError, type WhepSession } from './whep';

/** The badge state; also window.__classcast.state. */
export type LiveState = 'connecting' | 'live' | 'reconnecting' | 'offline' | 'error';

/** What automated browser tests read: window.__classcast. */
export interface ClasscastDebug {
  state: LiveState;
  stats: LiveStats | null;
  /** The stream path from the URL, or null if the URL names none. */
  path: string | null;
  /** The text shown over the video, '' while live. */
  message: string;
  /** The server's error code for state 'error', when it sent one. */
  errorCode: string | null;
  /** WHEP sessions set up so far (1 after the first join, +1 per rejoin). */
  sessions: number;
  /** True while the video plays muted because the browser blocked sound. */
  autoplayMuted: boolean;
}

declare global {
  interface Window {
    __classcast: ClasscastDebug;
  }
}

/** ICE may be disconnected this long before we rejoin. */
const DISCONNECTED_GRACE_MS = 5000;
/** No new video frame for this long while connected means the stream is stuck. */
const FROZEN_MS = 10_000;
/** A session whose ICE has not connected by then is given up. */
const CONNECT_TIMEOUT_MS = 10_000;
const STATS_INTERVAL_MS = 1000;
/** Where the ICE servers (TURN) from the last answer are kept for the next join, also across visits. */
const ICE_SERVERS_KEY = 'classcast.iceServers';
const CONTROLS_IDLE_MS = 3000;

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`live.html lacks #${id}`);
  return el as T;
}

const ui = {
  player: $<HTMLDivElement>('player'),
  stage: $<HTMLDivElement>('stage'),
  video: $<HTMLVideoElement>('video'),
  badge: $<HTMLSpanElement>('badge'),
  streamName: $<HTMLSpanElement>('stream-name'),
  message: $<HTMLDivElement>('message'),
  messageText: $<HTMLParagraphElement>('message-text'),
  messageHint: $<HTMLParagraphElement>('message-hint'),
  unmute: $<HTMLButtonElement>('unmute'),
  mute: $<HTMLButtonElement>('mute'),
  statsToggle: $<HTMLButtonElement>('stats-toggle'),
  stats: $<HTMLDListElement>('stats'),
  fullscreen: $<HTMLButtonElement>('fullscreen'),
  langToggle: $<HTMLButtonElement>('lang-toggle'),
};

const pageUrl = new URL(location.href);
const token = pageUrl.searchParams.get('token');

const debug: ClasscastDebug = {
  state: 'connecting',
  stats: null,
  path: streamPathFromUrl(pageUrl),
  message: '',
  errorCode: null,
  sessions: 0,
  autoplayMuted: false,
};
window.__classcast = debug;

/** What the message overlay says; kept as keys so a language switch re-renders it. */
let messageKey: MessageKey | null = null;
let messageParams: Record<string, string | number> | undefined;
let hintKey: MessageKey | null = null;

function setState(state: LiveState, msg: MessageKey | null, params?: Record<string, string | number>, hint: MessageKey | null = null) {
  debug.state = state;
  messageKey = msg;
  messageParams = params;
  hintKey = hint;
  render();
}

function render() {
  const s = debug.state;
  ui.badge.dataset.state = s;
  ui.badge.textContent = t(`state.${s}`);
  ui.stage.dataset.state = s;
  debug.message = messageKey ? t(messageKey, messageParams) : '';
  ui.message.hidden = messageKey === null;
  ui.messageText.textContent = debug.message;
  ui.messageHint.textContent = hintKey ? t(hintKey) : '';
  ui.messageHint.hidden = hintKey === null;
  const name = debug.path ?? '';
  ui.streamName.textContent = name;
  document.title = t('live.title', { path: name || '—' });
  renderMute();
  renderFullscreen();
  renderStats();
}

// ---------------------------------------------------------------- session

function loadIceServers(): RTCIceServer[] {
  try {
    const v: unknown = JSON.parse(localStorage.getItem(ICE_SERVERS_KEY) ?? '[]');
    return Array.isArray(v) ? (v as RTCIceServer[]) : [];
  } catch {
    return [];
  }
}

function saveIceServers(servers: RTCIceServer[]) {
  try {
    if (servers.length) localStorage.setItem(ICE_SERVERS_KEY, JSON.stringify(servers));
    else localStorage.removeItem(ICE_SERVERS_KEY);
  } catch {
    // storage disabled: they still serve this page's rejoins
  }
}

/**
 * One viewer's connection to the stream. Exactly one attempt or session is
 * active at a time; join() replaces whatever was there.
 */
class Player {
  private session: WhepSession | null = null;
  private attempt: AbortController | null = null;
  private retryTimer = 0;
  private statsTimer = 0;
  /** Consecutive network/server/ICE failures, for the backoff. */
  private failures = 0;
  private wasLive = false;
  private sessionStart = 0;
  private disconnectedSince = 0;
  /** framesDecoded and totalSamplesReceived of this session, from the last stats. */
  private lastFrames = 0;
  private lastSamples = 0;
  private ticking = false;
  private tickAgain = false;
  private lastFrameAt = 0;
  private everConnected = false;
  private prevStats: LiveStats | null = null;
  /** TURN/STUN servers the endpoint advertised in its last answer (Link headers). */
  private iceServers = loadIceServers();

  constructor(private readonly endpoint: string) {}

  start() {
    this.statsTimer = window.setInterval(() => void this.tick(), STATS_INTERVAL_MS);
    void this.join();
  }

  /** Leaves for good (page hidden or unloaded); start() resumes. */
  stop() {
    clearInterval(this.statsTimer);
    clearTimeout(this.retryTimer);
    this.attempt?.abort();
    this.attempt = null;
    this.session?.closeOnUnload();
    this.session = null;
  }

  private teardown() {
    this.attempt?.abort();
    this.attempt = null;
    if (this.session) void this.session.close();
    this.session = null;
    this.prevStats = null;
    debug.stats = null;
    renderStats();
  }

  private schedule(ms: number) {
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => void this.join(), ms);
  }

  private async join() {
    clearTimeout(this.retryTimer);
    this.teardown();
    // While polling a stream that is not live, or waiting out a network error,
    // the badge keeps saying so instead of flickering to "connecting".
    if (debug.state !== 'offline' && debug.state !== 'reconnecting') {
      setState(this.wasLive ? 'reconnecting' : 'connecting', this.wasLive ? 'msg.reconnecting' : 'msg.connecting');
    }
    const attempt = new AbortController();
    this.attempt = attempt;
    const stream = new MediaStream();
    let started = false;
    try {
      const session = await whepConnect({
        endpoint: this.endpoint,
        token,
        iceServers: this.iceServers,
        signal: attempt.signal,
        onTrack: (ev) => {
          if (attempt.signal.aborted) return;
          stream.addTrack(ev.track);
          if (!started) {
            started = true;
            ui.video.srcObject = stream;
            void play();
          }
        },
      });
      if (this.attempt !== attempt) {
        void session.close();
        return;
      }
      this.session = session;
      debug.sessions++;
      if (JSON.stringify(session.iceServers) !== JSON.stringify(this.iceServers)) {
        this.iceServers = session.iceServers;
        saveIceServers(this.iceServers);
      }
      this.sessionStart = performance.now();
      this.disconnectedSince = 0;
      this.lastFrames = 0;
      this.lastSamples = 0;
      this.lastFrameAt = this.sessionStart;
      this.everConnected = false;
      const pc = session.pc;
      const onChange = () => {
        if (this.session !== session) return;
        this.watch();
        void this.tick(); // ICE just connected: look for the first frame now, not in a second
      };
      pc.addEventListener('iceconnectionstatechange', onChange);
      pc.addEventListener('connectionstatechange', onChange);
      // The server ending the session (DTLS close_notify) shows here at once; ICE would take seconds.
      pc.getReceivers()[0]?.transport?.addEventListener('statechange', onChange);
      this.watch();
    } catch (err) {
      if (attempt.signal.aborted || this.attempt !== attempt) return;
      this.attempt = null;
      this.onJoinError(err);
    }
  }

  private onJoinError(err: unknown) {
    const e = err instanceof WhepError ? err : new WhepError('server', err instanceof Error ? err.message : String(err));
    debug.errorCode = e.code ?? null;
    switch (e.kind) {
      case 'not-live':
        this.failures = 0;
        setState('offline', 'msg.offline', undefined, 'msg.offline.hint');
        this.schedule(NOT_LIVE_RETRY_MS);
        return;
      case 'unauthorized':
        setState('error', 'msg.unauthorized', undefined, 'msg.unauthorized.hint');
        return;
      case 'bad-request':
        setState('error', 'msg.error', { message: e.message });
        return;
      case 'network':
      case 'server': {
        this.failures++;
        const wait = backoffMs(this.failures);
        console.warn(`classcast: join failed (${e.kind} ${e.status}: ${e.message}), retrying in ${wait} ms`);
        if (e.kind === 'network') setState('reconnecting', 'msg.network', { seconds: Math.round(wait / 1000) });
        else setState('reconnecting', 'msg.error', { message: e.message });
        this.schedule(wait);
        return;
      }
    }
  }

  /** Tears down and joins again: at once after a live session, with backoff after repeated failures. */
  private rejoin(reason: string, mediaUnreachable = false) {
    console.info(`classcast: rejoining (${reason})`);
    const wait = this.wasLive && this.failures === 0 ? 0 : backoffMs(this.failures + 1);
    this.failures++;
    this.teardown();
    if (this.wasLive) setState('reconnecting', 'msg.reconnecting');
    else if (mediaUnreachable) setState('reconnecting', 'msg.iceFailed', undefined, 'msg.iceFailed.hint');
    else setState('connecting', 'msg.connecting');
    this.schedule(wait);
  }

  /** Checks the connection and the picture; called on state changes, media events and every second. */
  watch() {
    const session = this.session;
    if (!session) return;
    const pc = session.pc;
    const ice = pc.iceConnectionState;
    const now = performance.now();
    const dtls = pc.getReceivers()[0]?.transport?.state;
    if (dtls === 'closed' || dtls === 'failed') return this.rejoin(`dtls ${dtls}`, dtls === 'failed');
    if (ice === 'failed' || pc.connectionState === 'failed' || pc.connectionState === 'closed') {
      return this.rejoin(`ice ${ice}, connection ${pc.connectionState}`, true);
    }
    if (ice === 'disconnected') {
      if (!this.disconnectedSince) this.disconnectedSince = now;
      if (now - this.disconnectedSince > DISCONNECTED_GRACE_MS) return this.rejoin('ice disconnected');
      if (debug.state === 'live') setState('reconnecting', 'msg.reconnecting');
      return;
    }
    this.disconnectedSince = 0;
    const connected = ice === 'connected' || ice === 'completed';
    if (!connected) {
      if (!this.everConnected && now - this.sessionStart > CONNECT_TIMEOUT_MS) this.rejoin(`ice still ${ice}`, true);
      return;
    }
    if (!this.everConnected) {
      this.everConnected = true;
      this.lastFrameAt = now; // the freeze clock starts when media can flow
    }
    // Live means this session decoded media: the element's readyState alone can
    // say "ready" for a stream whose publisher has gone and sends nothing.
    const video = expectsVideo(pc);
    const playing = video ? this.lastFrames > 0 : this.lastSamples > 0;
    if (playing && debug.state !== 'live') {
      this.wasLive = true;
      this.failures = 0;
      debug.errorCode = null;
      setState('live', null);
    }
    // A hidden tab may decode nothing; judge the picture only while someone can see it.
    if (document.hidden) this.lastFrameAt = now;
    if (video && now - this.lastFrameAt > FROZEN_MS) this.rejoin('no video frames for 10 s');
  }

  /** Reads the stats, then watch(); every second, and at once on connection and media events. */
  async tick(): Promise<void> {
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    const session = this.session;
    if (!session) return;
    this.ticking = true;
    try {
      const report = await session.pc.getStats();
      if (session !== this.session) return;
      const stats = computeStats(report.values(), this.prevStats);
      this.prevStats = stats;
      debug.stats = stats;
      if (stats.framesDecoded > this.lastFrames) {
        this.lastFrames = stats.framesDecoded;
        this.lastFrameAt = performance.now();
      }
      this.lastSamples = stats.totalSamplesReceived;
      renderStats();
      this.watch();
    } catch {
      // closed meanwhile
    } finally {
      this.ticking = false;
    }
    if (this.tickAgain) {
      this.tickAgain = false;
      void this.tick();
    }
  }
}

/** True when the answer accepted the video m-line, so frames should arrive. */
function expectsVideo(pc: RTCPeerConnection): boolean {
  return pc
    .getTransceivers()
    .some((tr) => tr.receiver.track.kind === 'video' && (tr.currentDirection === 'recvonly' || tr.currentDirection === 'sendrecv'));
}

// ---------------------------------------------------------------- sound

/** Plays with sound if the browser lets us, else muted with the unmute button. */
async function play() {
  const v = ui.video;
  try {
    await v.play();
  } catch (err) {
    if (!(err instanceof DOMException) || err.name !== 'NotAllowedError' || v.muted) return;
    v.muted = true;
    debug.autoplayMuted = true;
    renderMute();
    try {
      await v.play();
    } catch {
      // even muted playback refused: the unmute button's click starts it
    }
  }
}

function unmute() {
  ui.video.muted = false;
  debug.autoplayMuted = false;
  void ui.video.play().catch(() => {});
  renderMute();
}

function renderMute() {
  const muted = ui.video.muted;
  ui.unmute.hidden = !debug.autoplayMuted;
  ui.mute.dataset.muted = String(muted);
  const label = t(muted ? 'ctl.sound' : 'ctl.mute');
  ui.mute.title = label + ' (M)';
  ui.mute.setAttribute('aria-label', label);
}

ui.unmute.addEventListener('click', unmute);
ui.mute.addEventListener('click', () => {
  if (ui.video.muted) unmute();
  else {
    ui.video.muted = true;
    renderMute();
  }
});

// ---------------------------------------------------------------- fullscreen

type WebkitVideo = HTMLVideoElement & { webkitEnterFullscreen?: () => void };

function toggleFullscreen() {
  if (document.fullscreenElement) {
    void document.exitFullscreen().catch(() => {});
  } else if (ui.player.requestFullscreen) {
    void ui.player.requestFullscreen().catch(() => {});
  } else {
    (ui.video as WebkitVideo).webkitEnterFullscreen?.(); // iPhone Safari
  }
}

function renderFullscreen() {
  const on = document.fullscreenElement !== null && document.fullscreenElement !== undefined;
  ui.fullscreen.dataset.on = String(on);
  const label = t(on ? 'ctl.fullscreen.exit' : 'ctl.fullscreen');
  ui.fullscreen.title = label + ' (F)';
  ui.fullscreen.setAttribute('aria-label', label);
}

ui.fullscreen.addEventListener('click', toggleFullscreen);
ui.video.addEventListener('dblclick', toggleFullscreen);
document.addEventListener('fullscreenchange', renderFullscreen);

// ---------------------------------------------------------------- stats panel

const STATS_OPEN_KEY = 'classcast.stats';

function statsOpen(): boolean {
  return !ui.stats.hidden;
}

function setStatsOpen(open: boolean) {
  ui.stats.hidden = !open;
  ui.statsToggle.setAttribute('aria-pressed', String(open));
  try {
    localStorage.setItem(STATS_OPEN_KEY, open ? '1' : '0');
  } catch {
    // storage disabled
  }
  renderStats();
}

function fmt(v: number | null, digits = 0, unit = ''): string {
  return v === null ? '—' : `${v.toFixed(digits)}${unit}`;
}

function statsRows(s: LiveStats | null): [MessageKey, string][] {
  if (!s) return [['stats.resolution', '—']];
  const loss = `${s.packetsLost} (${s.packetLossPercent.toFixed(2)}%)`;
  const jitter = `${fmt(s.videoJitterMs, 1)} / ${fmt(s.audioJitterMs, 1)} ms`;
  const transport = s.transportProtocol
    ? `${s.transportProtocol.toUpperCase()}${s.relayProtocol ? ` (TURN ${s.relayProtocol.toUpperCase()})` : ''} · ${s.localCandidateType ?? '?'} → ${s.remoteCandidateType ?? '?'}`
    : '—';
  return [
    ['stats.resolution', s.width && s.height ? `${s.width}×${s.height}` : '—'],
    ['stats.fps', fmt(s.fps, 1)],
    ['stats.videoBitrate', formatBitrate(s.videoBitrate)],
    ['stats.audioBitrate', formatBitrate(s.audioBitrate)],
    ['stats.loss', loss],
    ['stats.jitter', jitter],
    ['stats.rtt', fmt(s.rttMs, 0, ' ms')],
    ['stats.codecs', `${s.videoCodec ?? '—'} / ${s.audioCodec ?? '—'}`],
    ['stats.frames', String(s.framesDecoded)],
    ['stats.samples', String(s.totalSamplesReceived)],
    ['stats.transport', transport],
  ];
}

function renderStats() {
  if (!statsOpen()) return;
  const rows = statsRows(debug.stats);
  const dl = ui.stats;
  // Reuse the nodes: the panel updates every second and should not flicker.
  while (dl.children.length > rows.length * 2) dl.lastElementChild!.remove();
  rows.forEach(([key, value], i) => {
    let dt = dl.children[i * 2] as HTMLElement | undefined;
    let dd = dl.children[i * 2 + 1] as HTMLElement | undefined;
    if (!dt || !dd) {
      dt = dl.appendChild(document.createElement('dt'));
      dd = dl.appendChild(document.createElement('dd'));
    }
    dt.textContent = t(key);
    dd.textContent = value;
  });
}

ui.statsToggle.addEventListener('click', () => setStatsOpen(!statsOpen()));

// ---------------------------------------------------------------- keyboard, controls

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.repeat) return;
  const target = ev.target as HTMLElement | null;
  if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
  switch (ev.key.toLowerCase()) {
    case 's':
      setStatsOpen(!statsOpen());
      break;
    case 'f':
      toggleFullscreen();
      break;
    case 'm':
      ui.mute.click();
      break;
    default:
      return;
  }
  ev.preventDefault();
});

// The control bar fades out while the class plays and nobody touches the page.
let idleTimer = 0;
function wake() {
  ui.stage.classList.remove('idle');
  clearTimeout(idleTimer);
  idleTimer = window.setTimeout(() => ui.stage.classList.add('idle'), CONTROLS_IDLE_MS);
}
for (const type of ['pointermove', 'pointerdown', 'keydown', 'focusin']) {
  ui.stage.addEventListener(type, wake);
}

// ---------------------------------------------------------------- start

bindLangToggle(ui.langToggle);
onLangChange(render);
applyI18n();

let statsPref: string | null = null;
try {
  statsPref = localStorage.getItem(STATS_OPEN_KEY);
} catch {
  // storage disabled
}
if (pageUrl.searchParams.get('stats') === '1' || statsPref === '1') setStatsOpen(true);

if (debug.path === null) {
  setState('error', 'msg.badpath');
} else if (typeof RTCPeerConnection === 'undefined') {
  setState('error', 'msg.unsupported');
} else {
  const p = new Player(whepEndpoint(debug.path));
  setState('connecting', 'msg.connecting');
  for (const type of ['loadeddata', 'playing', 'resize']) {
    ui.video.addEventListener(type, () => void p.tick());
  }
  // Leave cleanly so the server frees the viewer at once; come back from the back/forward cache.
  window.addEventListener('pagehide', () => p.stop());
  window.addEventListener('pageshow', (ev) => {
    if (ev.persisted) {
      setState('connecting', 'msg.connecting');
      p.start();
    }
  });
  p.start();
  wake();
}
