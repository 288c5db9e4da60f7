// The recorded-lesson player, mountable into any page: given an asset id it
// fetches the asset, shows its recording/queued/processing state (with the
// percent) and polls until it is ready, then plays its HLS ladder with hls.js
// (the browser's own HLS where MSE is missing: Safari on older iPhones), with
// quality, speed and caption menus, resume where the viewer left off, keyboard
// shortcuts and storyboard previews over the seek bar.
//
// One player per page: its markup keeps the element ids (#stage, #video,
// #quality, #quality-menu) that the browser tests and scripts/vodwatch.mjs use,
// and its state is published as window.__classcast.vod.

import './styles/base.css';
import './styles/live.css';
import './styles/watch.css';
import Hls, { type ErrorData, type Level, type ManifestLoadedData } from 'hls.js/light';
import { ApiError, apiGet } from './api';
import { assetFrameRate, assetStateLabel, assetStepLabel, parseAsset, withToken, type Asset } from './assets';
import { formatDuration, formatPercent } from './format';
import { applyI18n, getLang, onLangChange, t, type MessageKey } from './i18n';
import { AUDIO_ONLY, formatSpeed, levelLabels, parseSpeed, qualityLabel, qualityName, SPEEDS, stepSpeed } from './quality';
import { loadPositions, resumePosition, savePosition } from './resume';
import { backoffMs } from './retry';
import { SeekBar } from './seekbar';
import { parseStoryboard, type StoryboardCue } from './storyboard';
import { captionChoice, type CaptionTrack } from './vodplayer-captions';

export type { CaptionTrack } from './vodplayer-captions';

/** What the player is doing; also window.__classcast.vod.state. */
export type VodState = 'loading' | 'pending' | 'failed' | 'error' | 'buffering' | 'playing' | 'paused' | 'ended';

export interface VodLevel {
  /** Canonical name: "1080p", "720p", ..., "audio". */
  name: string;
  width: number;
  height: number;
  bitrate: number;
}

/** What automated browser tests read: window.__classcast.vod. */
export interface VodDebug {
  state: VodState;
  assetId: string | null;
  /** The asset's state from the API ("processing", "ready", ...). */
  assetState: string | null;
  percent: number;
  currentTime: number;
  /** Seconds; from the media once known, else from the API. */
  duration: number;
  /** True while the media plays (not paused, not ended). */
  playing: boolean;
  /** Index into levels of the rendition playing now; -1 when not known (native HLS, not started). */
  level: number;
  /** The master playlist's video levels in hls.js order, then the audio-only rendition if there is one. */
  levels: VodLevel[];
  /** True while hls.js picks the level by itself. */
  auto: boolean;
  engine: 'hls.js' | 'native' | null;
  rate: number;
  muted: boolean;
  /** Where playback resumed from, null when it started at the beginning. */
  resumedFrom: number | null;
  /** Storyboard cues loaded for the seek-bar previews. */
  storyboardCues: number;
  /** Caption tracks offered, and the language showing ('' when off). */
  captions: string[];
  caption: string;
  /** The text shown for states 'failed' and 'error'. */
  error: string | null;
  /** The API's error.code, when it sent one. */
  errorCode: string | null;
}

export interface VodPlayerOptions {
  /** The viewer's ?token= (stream viewer tokens), sent as a Bearer header and on media URLs. */
  token?: string | null;
  /** A lesson's ?share= link secret, added to the asset request and to every playlist and segment. */
  share?: string | null;
  /** Resume where this viewer left off in this asset (default true). */
  resume?: boolean;
  /** Start playing by itself once ready (default true). */
  autoplay?: boolean;
  /** Handle the keyboard shortcuts on the whole document (default true). */
  keyboard?: boolean;
  /** Called on every asset fetched from the API (for the page's title and details). */
  onAsset?: (a: Asset) => void;
  /** Called when the media's duration becomes known. */
  onDuration?: (seconds: number) => void;
  /** Called on every timeupdate and seek. */
  onTime?: (seconds: number) => void;
  /** Called once when the storyboard is loaded (for a clip timeline). */
  onStoryboard?: (cues: StoryboardCue[]) => void;
}

/** What a page can do with a mounted player. */
export interface VodPlayer {
  readonly video: HTMLVideoElement;
  readonly debug: VodDebug;
  /** The asset as last fetched, null before. */
  asset(): Asset | null;
  /** The media's duration once known, else the API's; 0 while unknown. */
  duration(): number;
  /** Video frames per second, from the asset or else the master playlist; 0 while unknown. */
  frameRate(): number;
  /** Seeks to seconds (clamped to the media). */
  seek(seconds: number): void;
  play(): Promise<void>;
  pause(): void;
  /** Replaces the caption tracks offered (WebVTT URLs). */
  setCaptions(tracks: CaptionTrack[]): void;
  /** Stops everything the player started: hls.js, timers, listeners. */
  destroy(): void;
}

const POLL_MS = 3000;
const CONTROLS_IDLE_MS = 3000;
const SAVE_EVERY_MS = 5000;
const RESUME_TOAST_MS = 8000;
const SEEK_STEP = 5;
const SEEK_JUMP = 10;
const SPEED_KEY = 'classcast.vod.rate';
const QUALITY_KEY = 'classcast.vod.quality';
const CAPTION_KEY = 'classcast.vod.caption';

const ICON = {
  play: '<svg class="icon-off" viewBox="0 0 24 24" aria-hidden="true"><path d="M7 4.5v15l12.5-7.5z" fill="currentColor"/></svg>',
  pause:
    '<svg class="icon-on" viewBox="0 0 24 24" aria-hidden="true"><path d="M7.5 5v14M16.5 5v14" fill="none" stroke="currentColor" stroke-width="3" stroke-linecap="round"/></svg>',
};

const MARKUP = `
<div class="player vod" data-part="player">
  <div class="stage" id="stage" data-part="stage" data-state="loading" tabindex="-1" data-testid="vod-stage">
    <video id="video" data-part="video" playsinline preload="metadata" data-testid="vod-video"></video>
    <div class="audio-only" data-part="audio-only" hidden>
      <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M9 18V6l11-2v12" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linejoin="round"/><circle cx="6.5" cy="18" r="2.5" fill="none" stroke="currentColor" stroke-width="1.8"/><circle cx="17.5" cy="16" r="2.5" fill="none" stroke="currentColor" stroke-width="1.8"/></svg>
      <span data-i18n="watch.audioOnly">仅音频播放中</span>
    </div>
    <div class="message" data-part="message" data-testid="vod-message">
      <div class="spinner" aria-hidden="true"></div>
      <svg class="message-icon" viewBox="0 0 24 24" aria-hidden="true"><circle cx="12" cy="12" r="9" fill="none" stroke="currentColor" stroke-width="1.8"/><path d="M12 7.5v5.2l3.2 2" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/></svg>
      <p class="message-text" data-part="message-text" role="status" aria-live="polite"></p>
      <div class="message-progress" data-part="message-progress" hidden><div class="message-progress-fill" data-part="message-progress-fill"></div></div>
      <p class="message-hint" data-part="message-hint" hidden></p>
    </div>
    <button type="button" class="bigplay" data-part="bigplay" hidden data-i18n-aria="ctl.play" data-testid="vod-bigplay">
      <svg viewBox="0 0 24 24" aria-hidden="true"><path d="M8 5.5v13l10.5-6.5z" fill="currentColor"/></svg>
    </button>
    <div class="toast" data-part="toast" role="status" hidden>
      <span data-part="toast-text"></span>
      <button type="button" class="toast-btn" data-part="restart" data-i18n="watch.restart">从头播放</button>
    </div>
    <div class="controls" data-part="controls">
      <div class="seek" id="seek" data-part="seek" role="slider" tabindex="0" aria-valuemin="0" aria-valuemax="0" aria-valuenow="0" data-i18n-aria="ctl.seek" data-testid="vod-seek">
        <div class="seek-track">
          <div class="seek-buffered"></div>
          <div class="seek-played"></div>
        </div>
        <div class="seek-handle"></div>
        <div class="preview" hidden>
          <div class="preview-frame"><div class="preview-img"></div></div>
          <span class="preview-time">0:00</span>
        </div>
      </div>
      <div class="ctl-row">
        <button type="button" class="ctl" id="play" data-part="play" data-playing="false" data-testid="vod-play">${ICON.pause}${ICON.play}</button>
        <button type="button" class="ctl" data-part="mute" data-muted="false" data-testid="vod-mute">
          <svg class="icon-on" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 9.5h3.5L12 5.5v13l-4.5-4H4z" fill="currentColor"/><path d="M15.5 9a4.2 4.2 0 0 1 0 6M18 6.5a7.7 7.7 0 0 1 0 11" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/></svg>
          <svg class="icon-off" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 9.5h3.5L12 5.5v13l-4.5-4H4z" fill="currentColor"/><path d="M16 9.5l5 5m0-5l-5 5" fill="none" stroke="currentColor" stroke-width="1.8" stroke-linecap="round"/></svg>
        </button>
        <span class="time" data-part="time" data-testid="vod-time">0:00 / 0:00</span>
        <span class="spacer"></span>
        <div class="menu-wrap" data-part="captions-wrap" hidden>
          <button type="button" class="ctl ctl-text" id="captions" data-part="captions" aria-haspopup="true" aria-expanded="false" data-testid="vod-captions">CC</button>
          <ul class="menu" id="captions-menu" data-part="captions-menu" role="menu" hidden data-testid="vod-captions-menu"></ul>
        </div>
        <div class="menu-wrap" data-part="speed-wrap">
          <button type="button" class="ctl ctl-text" id="speed" data-part="speed" aria-haspopup="true" aria-expanded="false" data-testid="vod-speed">1x</button>
          <ul class="menu" id="speed-menu" data-part="speed-menu" role="menu" hidden data-testid="vod-speed-menu"></ul>
        </div>
        <div class="menu-wrap" id="quality-wrap" data-part="quality-wrap" hidden>
          <button type="button" class="ctl ctl-text" id="quality" data-part="quality" aria-haspopup="true" aria-expanded="false" data-testid="vod-quality"></button>
          <ul class="menu" id="quality-menu" data-part="quality-menu" role="menu" hidden data-testid="vod-quality-menu"></ul>
        </div>
        <button type="button" class="ctl" id="fullscreen" data-part="fullscreen" data-on="false" data-testid="vod-fullscreen">
          <svg class="icon-on" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>
          <svg class="icon-off" viewBox="0 0 24 24" aria-hidden="true"><path d="M9 4v5H4M15 4v5h5M9 20v-5H4M15 20v-5h5" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/></svg>
        </button>
      </div>
    </div>
  </div>
</div>`;

function storageGet(key: string): string | null {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // storage disabled: the choice holds for this page
  }
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function sameOrigin(url: string): boolean {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

/** url with ?share= added (same-origin URLs only: the secret stays on our server). */
function withShare(url: string, share: string | null | undefined): string {
  if (!share || !sameOrigin(url)) return url;
  const u = new URL(url, location.href);
  if (!u.searchParams.has('share')) u.searchParams.set('share', share);
  return u.href;
}

/**
 * Mounts a player for asset assetId into container (replacing its content) and
 * starts loading it. assetId null shows "invalid address".
 */
export function mountVodPlayer(container: HTMLElement, assetId: string | null, opts: VodPlayerOptions = {}): VodPlayer {
  const token = opts.token ?? null;
  const share = opts.share ?? null;
  const useResume = opts.resume ?? true;
  const autoplay = opts.autoplay ?? true;
  container.innerHTML = MARKUP;
  applyI18n(container);
  const part = <T extends HTMLElement>(name: string): T => {
    const e = container.querySelector<T>(`[data-part="${name}"]`);
    if (!e) throw new Error(`vod player lacks ${name}`);
    return e;
  };
  const ui = {
    player: part<HTMLDivElement>('player'),
    stage: part<HTMLDivElement>('stage'),
    video: part<HTMLVideoElement>('video'),
    audioOnly: part<HTMLDivElement>('audio-only'),
    message: part<HTMLDivElement>('message'),
    messageText: part<HTMLParagraphElement>('message-text'),
    messageHint: part<HTMLParagraphElement>('message-hint'),
    messageProgress: part<HTMLDivElement>('message-progress'),
    messageProgressFill: part<HTMLDivElement>('message-progress-fill'),
    bigplay: part<HTMLButtonElement>('bigplay'),
    toast: part<HTMLDivElement>('toast'),
    toastText: part<HTMLSpanElement>('toast-text'),
    restart: part<HTMLButtonElement>('restart'),
    seek: part<HTMLDivElement>('seek'),
    play: part<HTMLButtonElement>('play'),
    mute: part<HTMLButtonElement>('mute'),
    time: part<HTMLSpanElement>('time'),
    captionsWrap: part<HTMLDivElement>('captions-wrap'),
    captions: part<HTMLButtonElement>('captions'),
    captionsMenu: part<HTMLUListElement>('captions-menu'),
    speedWrap: part<HTMLDivElement>('speed-wrap'),
    speed: part<HTMLButtonElement>('speed'),
    speedMenu: part<HTMLUListElement>('speed-menu'),
    qualityWrap: part<HTMLDivElement>('quality-wrap'),
    quality: part<HTMLButtonElement>('quality'),
    qualityMenu: part<HTMLUListElement>('quality-menu'),
    fullscreen: part<HTMLButtonElement>('fullscreen'),
  };
  const video = ui.video;

  const debug: VodDebug = {
    state: 'loading',
    assetId,
    assetState: null,
    percent: 0,
    currentTime: 0,
    duration: 0,
    playing: false,
    level: -1,
    levels: [],
    auto: true,
    engine: null,
    rate: 1,
    muted: false,
    resumedFrom: null,
    storyboardCues: 0,
    captions: [],
    caption: '',
    error: null,
    errorCode: null,
  };
  const w = window as unknown as { __classcast?: Record<string, unknown> };
  w.__classcast = { ...(w.__classcast ?? {}), vod: debug };

  // Everything added to window/document, removed by destroy().
  const cleanups: (() => void)[] = [];
  const listen = <K extends keyof DocumentEventMap>(target: Document | Window, type: K, fn: (ev: DocumentEventMap[K]) => void) => {
    target.addEventListener(type, fn as EventListener);
    cleanups.push(() => target.removeEventListener(type, fn as EventListener));
  };
  let destroyed = false;

  // Function declarations below are hoisted, so the bar can be made before them.
  const seekBar = new SeekBar(ui.seek, {
    duration: mediaDuration,
    time: () => video.currentTime,
    buffered: () => video.buffered,
    seek: seekTo,
    scrubbing: (active) => {
      ui.stage.classList.toggle('scrubbing', active);
      renderTime();
      setState(debug.state); // the big play button stays out of the way while dragging
    },
  });

  let asset: Asset | null = null;
  /** The overlay text while not playing, kept as a key so a language switch re-renders it. */
  let messageKey: MessageKey | null = 'watch.loading';
  let messageParams: Record<string, string | number> | undefined;
  let messageSuffix = '';
  let hintKey: MessageKey | null = null;

  // -------------------------------------------------------------- state and overlay

  function setState(state: VodState) {
    debug.state = state;
    ui.stage.dataset.state = state;
    ui.bigplay.hidden = !(state === 'paused' || state === 'ended') || seekBar.active;
    renderPlay();
  }

  function setMessage(key: MessageKey | null, params?: Record<string, string | number>, hint: MessageKey | null = null, suffix = '') {
    messageKey = key;
    messageParams = params;
    hintKey = hint;
    messageSuffix = suffix;
    renderMessage();
  }

  function renderMessage() {
    ui.message.hidden = messageKey === null;
    ui.messageText.textContent = messageKey ? t(messageKey, messageParams) + messageSuffix : '';
    ui.messageHint.textContent = hintKey ? t(hintKey) : '';
    ui.messageHint.hidden = hintKey === null;
    const processing = debug.state === 'pending' && asset?.state === 'processing';
    ui.messageProgress.hidden = !processing;
    if (processing) ui.messageProgressFill.style.width = `${formatPercent(debug.percent)}%`;
  }

  /** The text of a final failure, as a function so a language switch can redo it. */
  let failText: (() => string) | null = null;

  /** Stops for good with a message: the asset failed, or something the viewer cannot fix by waiting. */
  function fail(state: 'failed' | 'error', text: () => string, code: string | null = null) {
    failText = text;
    debug.errorCode = code;
    setState(state);
    messageKey = null;
    renderFailure();
  }

  function renderFailure() {
    if (!failText) return;
    debug.error = failText();
    ui.message.hidden = false;
    ui.messageText.textContent = debug.error;
    ui.messageHint.hidden = true;
    ui.messageProgress.hidden = true;
  }

  function render() {
    if (failText) renderFailure();
    else if (messageKey !== null) renderMessage();
    renderPlay();
    renderMute();
    renderFullscreen();
    renderSpeed();
    renderQuality();
    renderCaptions();
    renderTime();
    renderToast();
  }

  // -------------------------------------------------------------- the asset

  let pollTimer = 0;
  let apiFailures = 0;

  function failedText(a: Asset): () => string {
    return () => (a.error ? t('watch.failed', { reason: a.error }) : t('watch.failed.unknown'));
  }

  async function loadAsset() {
    clearTimeout(pollTimer);
    if (!assetId || destroyed) return;
    let a: Asset | null;
    try {
      const q = share ? `?share=${encodeURIComponent(share)}` : '';
      a = parseAsset(await apiGet<unknown>(`/assets/${encodeURIComponent(assetId)}${q}`, token));
      apiFailures = 0;
    } catch (err) {
      onApiError(err);
      return;
    }
    if (destroyed) return;
    if (!a) {
      fail('error', () => t('msg.error', { message: 'bad asset JSON' }));
      return;
    }
    asset = a;
    debug.assetState = a.state;
    debug.percent = a.percent;
    if (!debug.duration) debug.duration = a.duration_seconds;
    opts.onAsset?.(a);
    if (a.state === 'failed') {
      fail('failed', failedText(a));
      return;
    }
    if (a.state === 'ready' && a.master_url) {
      startPlayback(a);
      return;
    }
    // Recording, queued or processing (or ready without a playlist yet): say so and look again.
    setState('pending');
    switch (a.state) {
      case 'recording':
        setMessage('watch.recording', undefined, 'watch.pending.hint');
        break;
      case 'queued':
        setMessage('watch.queued', undefined, 'watch.pending.hint');
        break;
      case 'processing':
        setMessage('watch.processing', { percent: formatPercent(a.percent) }, 'watch.pending.hint', a.step ? ` · ${assetStepLabel(a.step, getLang())}` : '');
        break;
      default:
        setMessage('watch.loading', undefined, 'watch.pending.hint', a.state ? ` (${assetStateLabel(a.state, getLang())})` : '');
    }
    schedulePoll(POLL_MS);
  }

  function onApiError(err: unknown) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) {
      fail('error', () => t('msg.unauthorized'), err.code);
      return;
    }
    if (err instanceof ApiError && err.status >= 400 && err.status < 500) {
      // 404 and the like: the server's own words ("asset not found").
      const message = err.message;
      fail('error', () => t('msg.error', { message }), err.code);
      return;
    }
    apiFailures++;
    const wait = backoffMs(apiFailures);
    console.warn(`classcast: loading asset ${assetId} failed (${err instanceof Error ? err.message : String(err)}), retrying in ${wait} ms`);
    if (debug.state !== 'pending') setState('loading');
    setMessage('msg.network', { seconds: Math.round(wait / 1000) });
    schedulePoll(wait);
  }

  function schedulePoll(ms: number) {
    clearTimeout(pollTimer);
    if (destroyed || document.visibilityState === 'hidden') return; // visibilitychange polls again
    pollTimer = window.setTimeout(() => void loadAsset(), ms);
  }

  // -------------------------------------------------------------- playback

  let hls: Hls | null = null;
  let mode: 'video' | 'audio' = 'video';
  let masterUrl = '';
  /** The audio-only variant's playlist, from the master playlist; null when there is none. */
  let audioUrl: string | null = null;
  let audioLevel: VodLevel | null = null;
  let videoLevels: VodLevel[] = [];
  // FRAME-RATE of the master playlist, for assets whose API record has no frame rate.
  let masterFrameRate = 0;
  /** The master has no picture at all (an audio-only recording). */
  let noPicture = false;
  /** Playback reached 'playing' (or the viewer was asked to press play): from then on positions are saved. */
  let started = false;
  let netRetries = 0;
  let mediaRecoveries = 0;
  /** Between tearing down one hls.js and the next one being able to play (a switch to or from audio only). */
  let switching = false;

  function startPlayback(a: Asset) {
    ui.stage.dataset.ready = 'true';
    if (a.poster_url) video.poster = withToken(withShare(a.poster_url, share), token);
    masterUrl = new URL(a.master_url, location.href).href;
    setMessage(null);
    setState('loading');
    ui.message.hidden = false; // spinner until the first frame
    const resume = useResume ? resumePosition(loadPositions(), a.id, a.duration_seconds) : null;
    debug.resumedFrom = resume;
    setSpeed(parseSpeed(storageGet(SPEED_KEY)));
    if (a.storyboard_url) void loadStoryboard(a.storyboard_url);

    if (Hls.isSupported()) {
      debug.engine = 'hls.js';
      attachHls(masterUrl, resume ?? -1, storageGet(QUALITY_KEY) ?? 'auto', autoplay);
    } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari without MSE: its own HLS picks the level; no quality menu.
      debug.engine = 'native';
      video.addEventListener(
        'loadedmetadata',
        () => {
          if (resume !== null) video.currentTime = resume;
          if (autoplay) void tryPlay();
          else started = true;
        },
        { once: true },
      );
      video.src = withToken(withShare(masterUrl, share), token);
    } else {
      fail('error', () => t('watch.unsupported'));
      return;
    }
    renderToast();
  }

  /**
   * (Re)creates hls.js for src (the master or the audio-only playlist), starting
   * at startAt seconds (-1: the beginning), on the level named choice ("auto",
   * "720p", "audio"). play says whether to start playing once it can.
   */
  function attachHls(src: string, startAt: number, choice: string, play: boolean) {
    if (hls) {
      switching = true;
      hls.destroy();
    }
    netRetries = 0;
    mediaRecoveries = 0;
    const isMaster = src === masterUrl;
    mode = isMaster ? 'video' : 'audio';
    const h = new Hls({
      startPosition: startAt,
      // A phone does not need the 1080p rung: hls.js caps the automatic choice at the player's size.
      capLevelToPlayerSize: true,
      // The ESM build has no inlined worker; fMP4 needs no transmuxing, so the main thread is fine.
      enableWorker: false,
      backBufferLength: 90,
      xhrSetup: (xhr, url) => {
        if (!sameOrigin(url)) return;
        // Opening here lets us add ?share=; hls.js then sends without opening again.
        if (share) xhr.open('GET', withShare(url, share), true);
        if (token) {
          if (!xhr.readyState) xhr.open('GET', url, true);
          xhr.setRequestHeader('Authorization', `Bearer ${token}`);
        }
      },
    });
    hls = h;
    h.on(Hls.Events.MANIFEST_LOADED, (_e, data: ManifestLoadedData) => {
      if (h !== hls || !isMaster) return;
      // hls.js drops an audio-only variant from its levels when there are video ones; keep its URL for the menu.
      const audio = data.levels.find((l) => !l.videoCodec && !!l.audioCodec && !l.width && !l.height);
      audioUrl = audio && data.levels.some((l) => l !== audio) ? audio.url : null;
      audioLevel = audio && audioUrl ? { name: AUDIO_ONLY, width: 0, height: 0, bitrate: audio.bitrate } : null;
    });
    // hls.js fires MANIFEST_PARSED from inside its own MANIFEST_LOADED handler, before
    // ours above has run: look at the levels once both are done.
    h.on(Hls.Events.MANIFEST_PARSED, () => queueMicrotask(onParsed));
    const onParsed = () => {
      if (h !== hls) return;
      if (isMaster) {
        videoLevels = h.levels.map(toVodLevel);
        masterFrameRate = h.levels.find((l) => l.frameRate > 0)?.frameRate ?? 0;
        noPicture = videoLevels.every((l) => l.name === AUDIO_ONLY);
        if (choice === AUDIO_ONLY && audioUrl) {
          attachHls(audioUrl, startAt, AUDIO_ONLY, play);
          return;
        }
        const i = videoLevels.findIndex((l) => l.name === choice);
        if (i >= 0) h.currentLevel = i;
      }
      updateLevels();
      if (play) void tryPlay();
      else {
        // Not playing by itself: ready for the viewer's press.
        started = true;
        mediaState();
      }
    };
    h.on(Hls.Events.LEVEL_SWITCHED, () => h === hls && updateLevels());
    h.on(Hls.Events.FRAG_LOADED, () => {
      netRetries = 0;
    });
    h.on(Hls.Events.ERROR, (_e, data: ErrorData) => h === hls && onHlsError(h, data, src, choice));
    h.loadSource(src);
    h.attachMedia(video);
    updateLevels();
  }

  function toVodLevel(l: Level): VodLevel {
    return { name: qualityName(l), width: l.width || 0, height: l.height || 0, bitrate: l.bitrate || 0 };
  }

  function onHlsError(h: Hls, data: ErrorData, src: string, choice: string) {
    if (!data.fatal) return;
    const code = data.response?.code;
    console.warn(`classcast: hls.js ${data.type} ${data.details}${code ? ` (HTTP ${code})` : ''}`);
    if (data.type === Hls.ErrorTypes.NETWORK_ERROR && netRetries < 5 && code !== 401 && code !== 403 && code !== 404) {
      netRetries++;
      const wait = backoffMs(netRetries);
      setState('buffering');
      window.setTimeout(() => {
        if (h !== hls) return;
        // A playlist that never loaded needs loading again; a segment only needs the loader restarted.
        if (data.details === Hls.ErrorDetails.MANIFEST_LOAD_ERROR || data.details === Hls.ErrorDetails.MANIFEST_LOAD_TIMEOUT) {
          attachHls(src, video.currentTime || -1, choice, !video.paused || !started);
        } else {
          h.startLoad();
        }
      }, wait);
      return;
    }
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 2) {
      mediaRecoveries++;
      h.recoverMediaError();
      return;
    }
    h.destroy();
    hls = null;
    const message = code ? `${data.details} (HTTP ${code})` : data.details;
    fail('error', () => t('watch.playbackError', { message }));
  }

  async function tryPlay() {
    try {
      await video.play();
    } catch (err) {
      if (err instanceof DOMException && err.name === 'NotAllowedError') {
        // No autoplay with sound here: the big play button starts it.
        started = true;
        ui.message.hidden = true;
        setState('paused');
        if (debug.resumedFrom !== null) showToast();
        return;
      }
      if (!(err instanceof DOMException && err.name === 'AbortError')) console.warn('classcast: play() failed', err);
    }
  }

  function togglePlay() {
    if (!ui.stage.dataset.ready || debug.state === 'error') return;
    if (video.paused || video.ended) void tryPlay();
    else video.pause();
  }

  // -------------------------------------------------------------- media state

  function mediaState() {
    debug.playing = !video.paused && !video.ended;
    if (debug.state === 'error' || debug.state === 'failed' || !ui.stage.dataset.ready) return;
    let s: VodState;
    if (switching) s = 'buffering';
    else if (video.ended) s = 'ended';
    else if (video.paused) s = started ? 'paused' : 'loading';
    else if (video.seeking || video.readyState < HTMLMediaElement.HAVE_FUTURE_DATA) s = started ? 'buffering' : 'loading';
    else s = 'playing';
    if (s === 'playing' && !started) {
      started = true;
      renderToast();
      if (debug.resumedFrom !== null) showToast();
    }
    ui.message.hidden = !(s === 'loading' || s === 'buffering');
    if (!ui.message.hidden) {
      ui.messageText.textContent = '';
      ui.messageHint.hidden = true;
      ui.messageProgress.hidden = true;
    }
    if (s !== debug.state) setState(s);
    ui.audioOnly.hidden = !(mode === 'audio' || noPicture);
  }

  for (const type of ['canplay', 'playing']) {
    video.addEventListener(type, () => {
      switching = false;
    });
  }
  for (const type of ['play', 'playing', 'pause', 'waiting', 'seeking', 'seeked', 'ended', 'canplay', 'loadeddata', 'emptied']) {
    video.addEventListener(type, mediaState);
  }

  let lastSave = 0;
  function savePos(force = false) {
    if (!useResume || !asset || !started || switching || video.seeking) return;
    const now = Date.now();
    if (!force && now - lastSave < SAVE_EVERY_MS) return;
    lastSave = now;
    const duration = Number.isFinite(video.duration) ? video.duration : asset.duration_seconds;
    savePosition(asset.id, video.ended ? duration : video.currentTime, duration);
  }

  video.addEventListener('timeupdate', () => {
    debug.currentTime = video.currentTime;
    renderTime();
    savePos();
    opts.onTime?.(video.currentTime);
  });
  video.addEventListener('durationchange', () => {
    if (Number.isFinite(video.duration) && video.duration > 0) {
      debug.duration = video.duration;
      opts.onDuration?.(video.duration);
    }
    renderTime();
  });
  video.addEventListener('progress', renderTime);
  video.addEventListener('pause', () => savePos(true));
  video.addEventListener('seeked', () => {
    debug.currentTime = video.currentTime;
    savePos(true);
    opts.onTime?.(video.currentTime);
  });
  video.addEventListener('ended', () => savePos(true));
  video.addEventListener('ratechange', () => {
    debug.rate = video.playbackRate;
    renderSpeed();
  });
  video.addEventListener('volumechange', renderMute);
  listen(window, 'pagehide' as keyof DocumentEventMap, () => savePos(true));

  // -------------------------------------------------------------- time and seek bar

  function mediaDuration(): number {
    return Number.isFinite(video.duration) && video.duration > 0 ? video.duration : debug.duration;
  }

  function renderTime() {
    const d = mediaDuration();
    ui.time.textContent = `${formatDuration(seekBar.position())} / ${formatDuration(d)}`;
    seekBar.render();
  }

  function seekTo(time: number) {
    const d = mediaDuration();
    if (!(d > 0)) return;
    video.currentTime = Math.max(0, Math.min(time, d - 0.05));
    debug.currentTime = video.currentTime;
    renderTime();
  }

  async function loadStoryboard(url: string) {
    const abs = withShare(new URL(url, location.href).href, share);
    try {
      const res = await fetch(abs, { headers: token && sameOrigin(abs) ? { Authorization: `Bearer ${token}` } : {} });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      // Sprites load as CSS backgrounds, which cannot carry the Authorization header.
      const cues = parseStoryboard(await res.text(), abs).map((c) =>
        sameOrigin(c.url) ? { ...c, url: withToken(withShare(c.url, share), token) } : c,
      );
      seekBar.cues = cues;
      debug.storyboardCues = cues.length;
      // Fetch the sprites now so the first hover shows a picture, not a blank.
      for (const src of new Set(cues.map((c) => c.url))) new Image().src = src;
      opts.onStoryboard?.(cues);
    } catch (err) {
      console.info(`classcast: no storyboard previews (${err instanceof Error ? err.message : String(err)})`);
    }
  }

  // -------------------------------------------------------------- play, sound, toast

  function renderPlay() {
    const playing = !video.paused && !video.ended;
    debug.playing = playing;
    ui.play.dataset.playing = String(playing);
    const label = t(playing ? 'ctl.pause' : 'ctl.play');
    ui.play.title = `${label} (K)`;
    ui.play.setAttribute('aria-label', label);
  }

  function renderMute() {
    const muted = video.muted;
    debug.muted = muted;
    ui.mute.dataset.muted = String(muted);
    const label = t(muted ? 'ctl.sound' : 'ctl.mute');
    ui.mute.title = `${label} (M)`;
    ui.mute.setAttribute('aria-label', label);
  }

  let toastTimer = 0;
  let toastShown = false;

  function showToast() {
    toastShown = true;
    renderToast();
    clearTimeout(toastTimer);
    toastTimer = window.setTimeout(() => {
      toastShown = false;
      renderToast();
    }, RESUME_TOAST_MS);
  }

  function renderToast() {
    ui.toast.hidden = !toastShown || debug.resumedFrom === null;
    if (debug.resumedFrom !== null) ui.toastText.textContent = t('watch.resumed', { time: formatDuration(debug.resumedFrom) });
  }

  ui.play.addEventListener('click', togglePlay);
  ui.bigplay.addEventListener('click', togglePlay);
  ui.mute.addEventListener('click', () => {
    video.muted = !video.muted;
  });
  ui.restart.addEventListener('click', () => {
    seekTo(0);
    toastShown = false;
    renderToast();
    if (video.paused) void tryPlay();
  });

  // -------------------------------------------------------------- menus: captions, speed and quality

  const menus = [
    [ui.captions, ui.captionsMenu],
    [ui.speed, ui.speedMenu],
    [ui.quality, ui.qualityMenu],
  ] as const;

  function closeMenus(except?: HTMLElement) {
    for (const [btn, menu] of menus) {
      if (menu === except) continue;
      menu.hidden = true;
      btn.setAttribute('aria-expanded', 'false');
    }
  }

  function toggleMenu(btn: HTMLButtonElement, menu: HTMLUListElement) {
    const open = menu.hidden;
    closeMenus(menu);
    menu.hidden = !open;
    btn.setAttribute('aria-expanded', String(open));
    if (open) (menu.querySelector('[aria-checked="true"]') as HTMLElement | null)?.focus();
  }

  function menuItem(label: string, checked: boolean, onPick: () => void, data: Record<string, string>): HTMLLIElement {
    const li = el('li');
    li.setAttribute('role', 'none');
    const b = el('button', 'menu-item', label);
    b.type = 'button';
    b.setAttribute('role', 'menuitemradio');
    b.setAttribute('aria-checked', String(checked));
    Object.assign(b.dataset, data);
    b.addEventListener('click', () => {
      onPick();
      closeMenus();
      ui.stage.focus({ preventScroll: true });
    });
    li.append(b);
    return li;
  }

  /** Sets and remembers the speed; the default too, as loading a new source resets the rate to it. */
  function setSpeed(rate: number) {
    video.defaultPlaybackRate = rate;
    video.playbackRate = rate;
    debug.rate = rate;
    storageSet(SPEED_KEY, String(rate));
    renderSpeed();
  }

  function renderSpeed() {
    const rate = video.playbackRate;
    ui.speed.textContent = formatSpeed(rate);
    ui.speed.title = `${t('ctl.speed')} (< >)`;
    ui.speed.setAttribute('aria-label', `${t('ctl.speed')} ${formatSpeed(rate)}`);
    ui.speedMenu.replaceChildren(
      ...[...SPEEDS].reverse().map((s) => menuItem(formatSpeed(s), Math.abs(s - rate) < 1e-6, () => setSpeed(s), { speed: String(s) })),
    );
  }

  /** Recomputes debug.levels/level/auto from hls.js and redraws the quality menu. */
  function updateLevels() {
    debug.levels = audioLevel ? [...videoLevels, audioLevel] : [...videoLevels];
    if (mode === 'audio') {
      debug.level = videoLevels.length;
      debug.auto = false;
    } else {
      debug.level = hls && hls.currentLevel >= 0 ? hls.currentLevel : -1;
      debug.auto = hls ? hls.autoLevelEnabled : true;
    }
    mediaState();
    renderQuality();
  }

  /** Switches to the level at index i of debug.levels, or -1 for automatic. */
  function pickLevel(i: number) {
    const wasPlaying = !video.paused || !started;
    const at = video.currentTime > 0 ? video.currentTime : -1;
    const target = i >= 0 ? debug.levels[i] : undefined;
    storageSet(QUALITY_KEY, target?.name ?? 'auto');
    if (target?.name === AUDIO_ONLY && audioUrl) {
      if (mode !== 'audio') attachHls(audioUrl, at, AUDIO_ONLY, wasPlaying);
      return;
    }
    if (mode === 'audio') {
      attachHls(masterUrl, at, target?.name ?? 'auto', wasPlaying);
      return;
    }
    if (!hls) return;
    if (i < 0) hls.nextLevel = -1;
    else hls.currentLevel = i; // at once: the viewer asked for it
    updateLevels();
  }

  function renderQuality() {
    const lang = getLang();
    const choices = debug.levels.length;
    ui.qualityWrap.hidden = debug.engine !== 'hls.js' || choices < 2;
    if (ui.qualityWrap.hidden) return;
    const labels = levelLabels(debug.levels, lang);
    const current = debug.level >= 0 ? labels[debug.level] ?? '' : '';
    ui.quality.textContent = debug.auto ? (current ? t('quality.autoCurrent', { name: current }) : t('quality.auto')) : current;
    ui.quality.title = t('ctl.quality');
    ui.quality.setAttribute('aria-label', `${t('ctl.quality')}: ${ui.quality.textContent}`);
    // Best first: video levels by height then bit rate, audio only last.
    const order = debug.levels
      .map((l, i) => ({ l, i }))
      .sort((a, b) => Number(a.l.name === AUDIO_ONLY) - Number(b.l.name === AUDIO_ONLY) || b.l.height - a.l.height || b.l.bitrate - a.l.bitrate);
    ui.qualityMenu.replaceChildren(
      menuItem(current && debug.auto ? t('quality.autoCurrent', { name: current }) : t('quality.auto'), debug.auto, () => pickLevel(-1), { level: '-1' }),
      ...order.map(({ l, i }) =>
        menuItem(l.name === AUDIO_ONLY ? qualityLabel(AUDIO_ONLY, lang) : labels[i]!, !debug.auto && debug.level === i, () => pickLevel(i), {
          level: String(i),
          name: l.name,
        }),
      ),
    );
  }

  // Captions: one <track> per WebVTT file; the menu shows one of them (or none).
  let captionTracks: CaptionTrack[] = [];
  /**
   * The language the viewer last chose to show, '' for off; remembered across
   * pages. Until they choose, the track in the page's language shows.
   */
  let captionWanted = storageGet(CAPTION_KEY);

  function setCaptions(tracks: CaptionTrack[]) {
    captionTracks = tracks;
    video.querySelectorAll('track').forEach((tr) => tr.remove());
    for (const c of tracks) {
      const tr = el('track');
      tr.kind = 'subtitles';
      tr.srclang = c.lang;
      tr.label = c.label || c.lang;
      tr.src = withToken(withShare(c.url, share), token);
      video.append(tr);
    }
    debug.captions = tracks.map((c) => c.lang);
    showCaption(captionChoice(tracks, captionWanted ?? getLang(), getLang()));
  }

  /** Shows the track of lang ('' hides them all). */
  function showCaption(lang: string) {
    const list = video.textTracks;
    for (let i = 0; i < list.length; i++) {
      const tt = list[i]!;
      tt.mode = lang !== '' && tt.language === lang ? 'showing' : 'disabled';
    }
    debug.caption = captionTracks.some((c) => c.lang === lang) ? lang : '';
    renderCaptions();
  }

  function pickCaption(lang: string) {
    captionWanted = lang;
    storageSet(CAPTION_KEY, lang);
    showCaption(lang);
  }

  function toggleCaptions() {
    if (captionTracks.length === 0) return;
    const want = captionWanted || getLang();
    pickCaption(debug.caption ? '' : captionChoice(captionTracks, want, getLang()) || captionTracks[0]!.lang);
  }

  function renderCaptions() {
    ui.captionsWrap.hidden = captionTracks.length === 0;
    const label = t('vod.captions');
    ui.captions.title = `${label} (C)`;
    ui.captions.setAttribute('aria-label', label);
    ui.captions.setAttribute('aria-pressed', String(debug.caption !== ''));
    ui.captionsMenu.replaceChildren(
      menuItem(t('vod.captions.off'), debug.caption === '', () => pickCaption(''), { lang: '' }),
      ...captionTracks.map((c) => menuItem(c.label || c.lang, debug.caption === c.lang, () => pickCaption(c.lang), { lang: c.lang })),
    );
  }

  ui.captions.addEventListener('click', () => toggleMenu(ui.captions, ui.captionsMenu));
  ui.speed.addEventListener('click', () => toggleMenu(ui.speed, ui.speedMenu));
  ui.quality.addEventListener('click', () => toggleMenu(ui.quality, ui.qualityMenu));
  listen(document, 'pointerdown', (ev) => {
    const target = ev.target as Node;
    if (!ui.captionsWrap.contains(target) && !ui.speedWrap.contains(target) && !ui.qualityWrap.contains(target)) closeMenus();
  });

  // -------------------------------------------------------------- fullscreen

  type WebkitVideo = HTMLVideoElement & { webkitEnterFullscreen?: () => void };

  function toggleFullscreen() {
    if (document.fullscreenElement) {
      void document.exitFullscreen().catch(() => {});
    } else if (ui.player.requestFullscreen) {
      void ui.player.requestFullscreen().catch(() => {});
    } else {
      (video as WebkitVideo).webkitEnterFullscreen?.(); // iPhone Safari
    }
  }

  function renderFullscreen() {
    const on = document.fullscreenElement !== null && document.fullscreenElement !== undefined;
    ui.fullscreen.dataset.on = String(on);
    const label = t(on ? 'ctl.fullscreen.exit' : 'ctl.fullscreen');
    ui.fullscreen.title = `${label} (F)`;
    ui.fullscreen.setAttribute('aria-label', label);
  }

  ui.fullscreen.addEventListener('click', toggleFullscreen);
  listen(document, 'fullscreenchange', renderFullscreen);

  // -------------------------------------------------------------- keyboard, pointer, idle controls

  function seekBy(delta: number) {
    if (!ui.stage.dataset.ready) return;
    seekTo(seekBar.position() + delta);
  }

  if (opts.keyboard ?? true) {
    listen(document, 'keydown', (ev) => {
      if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.defaultPrevented) return;
      const target = ev.target as HTMLElement | null;
      if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
      // Space and Enter on a focused button press that button.
      if ((ev.key === ' ' || ev.key === 'Enter') && target && /^(BUTTON|A)$/.test(target.tagName)) return;
      const repeatable = ['ArrowLeft', 'ArrowRight', 'j', 'l', 'J', 'L'].includes(ev.key);
      if (ev.repeat && !repeatable) return;
      switch (ev.key) {
        case ' ':
        case 'k':
        case 'K':
          togglePlay();
          break;
        case 'ArrowLeft':
          seekBy(-SEEK_STEP);
          break;
        case 'ArrowRight':
          seekBy(SEEK_STEP);
          break;
        case 'j':
        case 'J':
          seekBy(-SEEK_JUMP);
          break;
        case 'l':
        case 'L':
          seekBy(SEEK_JUMP);
          break;
        case 'Home':
          seekTo(0);
          break;
        case 'End':
          seekTo(mediaDuration());
          break;
        case 'f':
        case 'F':
          toggleFullscreen();
          break;
        case 'm':
        case 'M':
          video.muted = !video.muted;
          break;
        case 'c':
        case 'C':
          toggleCaptions();
          break;
        case ',':
        case '<':
          setSpeed(stepSpeed(video.playbackRate, -1));
          break;
        case '.':
        case '>':
          setSpeed(stepSpeed(video.playbackRate, 1));
          break;
        case 'Escape':
          closeMenus();
          return;
        default:
          return;
      }
      ev.preventDefault();
      wake();
    });
  }

  // Clicking the picture plays or pauses; on a touch screen the first tap only brings the controls back.
  video.addEventListener('pointerup', (ev) => {
    if (ev.button !== 0) return;
    if (ev.pointerType !== 'mouse' && ui.stage.classList.contains('idle')) return wake();
    togglePlay();
  });
  video.addEventListener('dblclick', toggleFullscreen);

  // The controls fade out while the recording plays and nobody touches the page.
  let idleTimer = 0;
  function wake() {
    ui.stage.classList.remove('idle');
    clearTimeout(idleTimer);
    if (destroyed) return;
    idleTimer = window.setTimeout(() => {
      if (ui.speedMenu.hidden && ui.qualityMenu.hidden && ui.captionsMenu.hidden && !seekBar.active) ui.stage.classList.add('idle');
      else wake();
    }, CONTROLS_IDLE_MS);
  }
  for (const type of ['pointermove', 'pointerdown', 'keydown', 'focusin']) {
    ui.stage.addEventListener(type, wake);
  }

  // -------------------------------------------------------------- start

  const offLang = onLangChange(() => {
    applyI18n(container);
    render();
  });
  cleanups.push(offLang);
  render();

  listen(document, 'visibilitychange', () => {
    if (document.visibilityState === 'hidden') {
      savePos(true);
      clearTimeout(pollTimer);
    } else if (!ui.stage.dataset.ready && (debug.state === 'pending' || debug.state === 'loading')) {
      void loadAsset(); // polling stopped while hidden; catch up now
    }
  });

  if (assetId === null) {
    fail('error', () => t('watch.badId'));
  } else {
    setState('loading');
    void loadAsset();
    wake();
  }

  return {
    video,
    debug,
    asset: () => asset,
    duration: mediaDuration,
    frameRate: () => assetFrameRate(asset) || masterFrameRate,
    seek: seekTo,
    play: tryPlay,
    pause: () => video.pause(),
    setCaptions,
    destroy() {
      if (destroyed) return;
      savePos(true);
      destroyed = true;
      clearTimeout(pollTimer);
      clearTimeout(toastTimer);
      clearTimeout(idleTimer);
      hls?.destroy();
      hls = null;
      for (const fn of cleanups.splice(0)) fn();
      container.replaceChildren();
    },
  };
}
