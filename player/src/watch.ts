// The recording player, served for every /watch/<id> URL: fetches the asset,
// waits while it is still being recorded or processed, then plays its HLS
// ladder with hls.js (the browser's own HLS where MSE is missing: Safari on
// older iPhones), with quality and speed menus, resume, keyboard shortcuts and
// storyboard previews over the seek bar.

import './styles/base.css';
import './styles/live.css';
import './styles/watch.css';
import Hls, { type ErrorData, type Level, type ManifestLoadedData } from 'hls.js/light';
import { ApiError, apiGet } from './api';
import {
  assetIdFromUrl,
  assetName,
  assetStateLabel,
  assetStepLabel,
  isSettled,
  libraryPageUrl,
  parseAsset,
  withToken,
  type Asset,
} from './assets';
import { formatDateTime, formatDuration, formatPercent } from './format';
import { applyI18n, bindLangToggle, getLang, onLangChange, t, type MessageKey } from './i18n';
import { bindNav } from './nav';
import { AUDIO_ONLY, formatSpeed, levelLabels, parseSpeed, qualityLabel, qualityName, SPEEDS, stepSpeed } from './quality';
import { loadPositions, resumePosition, savePosition } from './resume';
import { backoffMs } from './retry';
import { SeekBar } from './seekbar';
import { parseStoryboard } from './storyboard';

/** What the page is doing; also window.__classcast.vod.state. */
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
  /** The text shown for states 'failed' and 'error'. */
  error: string | null;
  /** The API's error.code, when it sent one. */
  errorCode: string | null;
}

const POLL_MS = 3000;
const CONTROLS_IDLE_MS = 3000;
const SAVE_EVERY_MS = 5000;
const RESUME_TOAST_MS = 8000;
const SEEK_STEP = 5;
const SEEK_JUMP = 10;
const SPEED_KEY = 'classcast.vod.rate';
const QUALITY_KEY = 'classcast.vod.quality';

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`watch.html lacks #${id}`);
  return el as T;
}

const ui = {
  player: $<HTMLDivElement>('player'),
  stage: $<HTMLDivElement>('stage'),
  video: $<HTMLVideoElement>('video'),
  audioOnly: $<HTMLDivElement>('audio-only'),
  message: $<HTMLDivElement>('message'),
  messageText: $<HTMLParagraphElement>('message-text'),
  messageHint: $<HTMLParagraphElement>('message-hint'),
  messageProgress: $<HTMLDivElement>('message-progress'),
  messageProgressFill: $<HTMLDivElement>('message-progress-fill'),
  bigplay: $<HTMLButtonElement>('bigplay'),
  toast: $<HTMLDivElement>('toast'),
  toastText: $<HTMLSpanElement>('toast-text'),
  restart: $<HTMLButtonElement>('restart'),
  controls: $<HTMLDivElement>('controls'),
  seek: $<HTMLDivElement>('seek'),
  play: $<HTMLButtonElement>('play'),
  mute: $<HTMLButtonElement>('mute'),
  time: $<HTMLSpanElement>('time'),
  speed: $<HTMLButtonElement>('speed'),
  speedMenu: $<HTMLUListElement>('speed-menu'),
  qualityWrap: $<HTMLDivElement>('quality-wrap'),
  quality: $<HTMLButtonElement>('quality'),
  qualityMenu: $<HTMLUListElement>('quality-menu'),
  fullscreen: $<HTMLButtonElement>('fullscreen'),
  title: $<HTMLHeadingElement>('title'),
  meta: $<HTMLParagraphElement>('meta'),
  back: $<HTMLAnchorElement>('back'),
  langToggle: $<HTMLButtonElement>('lang-toggle'),
};

const pageUrl = new URL(location.href);
const token = pageUrl.searchParams.get('token');
const assetId = assetIdFromUrl(pageUrl);
const video = ui.video;

const debug: VodDebug = {
  state: 'loading',
  assetId,
  assetState: null,
  percent: 0,
  currentTime: 0,
  duration: 0,
  level: -1,
  levels: [],
  auto: true,
  engine: null,
  rate: 1,
  muted: false,
  resumedFrom: null,
  storyboardCues: 0,
  error: null,
  errorCode: null,
};
(window as unknown as { __classcast: { vod: VodDebug } }).__classcast = { vod: debug };

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

// ---------------------------------------------------------------- state and overlay

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

function renderInfo() {
  const lang = getLang();
  const name = asset ? assetName(asset) : assetId ?? '';
  ui.title.textContent = name;
  document.title = t('watch.title', { name: name || '—' });
  const parts: string[] = [];
  if (asset) {
    const created = formatDateTime(asset.started_at || asset.created_at, lang);
    if (created) parts.push(t('watch.meta.created', { time: created }));
    const duration = debug.duration || asset.duration_seconds;
    if (duration > 0) parts.push(t('watch.meta.duration', { duration: formatDuration(duration) }));
    if (asset.title && asset.stream_path) parts.push(asset.stream_path);
    if (asset.kind === 'clip') parts.push(t('asset.kind.clip'));
    if (!isSettled(asset.state)) parts.push(assetStateLabel(asset.state, lang));
  }
  ui.meta.textContent = parts.join(' · ');
}

function render() {
  renderInfo();
  if (failText) renderFailure();
  else if (messageKey !== null) renderMessage();
  renderPlay();
  renderMute();
  renderFullscreen();
  renderSpeed();
  renderQuality();
  renderTime();
  renderToast();
}

// ---------------------------------------------------------------- the asset

let pollTimer = 0;
let apiFailures = 0;

function failedText(a: Asset): () => string {
  return () => (a.error ? t('watch.failed', { reason: a.error }) : t('watch.failed.unknown'));
}

async function loadAsset() {
  clearTimeout(pollTimer);
  if (!assetId) return;
  let a: Asset | null;
  try {
    a = parseAsset(await apiGet<unknown>(`/assets/${encodeURIComponent(assetId)}`, token));
    apiFailures = 0;
  } catch (err) {
    onApiError(err);
    return;
  }
  if (!a) {
    fail('error', () => t('msg.error', { message: 'bad asset JSON' }));
    return;
  }
  asset = a;
  debug.assetState = a.state;
  debug.percent = a.percent;
  if (!debug.duration) debug.duration = a.duration_seconds;
  renderInfo();
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
  if (document.visibilityState === 'hidden') return; // visibilitychange polls again
  pollTimer = window.setTimeout(() => void loadAsset(), ms);
}

// ---------------------------------------------------------------- playback

let hls: Hls | null = null;
let mode: 'video' | 'audio' = 'video';
let masterUrl = '';
/** The audio-only variant's playlist, from the master playlist; null when there is none. */
let audioUrl: string | null = null;
let audioLevel: VodLevel | null = null;
let videoLevels: VodLevel[] = [];
/** The master has no picture at all (an audio-only recording). */
let noPicture = false;
/** Playback reached 'playing' (or the viewer was asked to press play): from then on positions are saved. */
let started = false;
let netRetries = 0;
let mediaRecoveries = 0;
/** Between tearing down one hls.js and the next one being able to play (a switch to or from audio only). */
let switching = false;

function sameOrigin(url: string): boolean {
  try {
    return new URL(url, location.href).origin === location.origin;
  } catch {
    return false;
  }
}

function startPlayback(a: Asset) {
  ui.stage.dataset.ready = 'true';
  if (a.poster_url) video.poster = withToken(a.poster_url, token);
  masterUrl = new URL(a.master_url, location.href).href;
  setMessage(null);
  setState('loading');
  ui.message.hidden = false; // spinner until the first frame
  const resume = resumePosition(loadPositions(), a.id, a.duration_seconds);
  debug.resumedFrom = resume;
  const rate = parseSpeed(storageGet(SPEED_KEY));
  setSpeed(rate);
  if (a.storyboard_url) void loadStoryboard(a.storyboard_url);

  if (Hls.isSupported()) {
    debug.engine = 'hls.js';
    attachHls(masterUrl, resume ?? -1, storageGet(QUALITY_KEY) ?? 'auto', true);
  } else if (video.canPlayType('application/vnd.apple.mpegurl')) {
    // Safari without MSE: its own HLS picks the level; no quality menu.
    debug.engine = 'native';
    video.addEventListener(
      'loadedmetadata',
      () => {
        if (resume !== null) video.currentTime = resume;
        void tryPlay();
      },
      { once: true },
    );
    video.src = withToken(masterUrl, token);
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
      if (token && sameOrigin(url)) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
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

// ---------------------------------------------------------------- media state

function mediaState() {
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
  if (!asset || !started || switching || video.seeking) return;
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
});
video.addEventListener('durationchange', () => {
  if (Number.isFinite(video.duration) && video.duration > 0) debug.duration = video.duration;
  renderTime();
  renderInfo();
});
video.addEventListener('progress', renderTime);
video.addEventListener('pause', () => savePos(true));
video.addEventListener('seeked', () => {
  debug.currentTime = video.currentTime;
  savePos(true);
});
video.addEventListener('ended', () => savePos(true));
video.addEventListener('ratechange', () => {
  debug.rate = video.playbackRate;
  renderSpeed();
});
video.addEventListener('volumechange', renderMute);
window.addEventListener('pagehide', () => savePos(true));

// ---------------------------------------------------------------- time and seek bar

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
  video.currentTime = Math.max(0, Math.min(time, d - 0.1));
  debug.currentTime = video.currentTime;
  renderTime();
}

async function loadStoryboard(url: string) {
  const abs = new URL(url, location.href).href;
  try {
    const res = await fetch(abs, { headers: token && sameOrigin(abs) ? { Authorization: `Bearer ${token}` } : {} });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    // Sprites load as CSS backgrounds, which cannot carry the Authorization header.
    const cues = parseStoryboard(await res.text(), abs).map((c) => (sameOrigin(c.url) ? { ...c, url: withToken(c.url, token) } : c));
    seekBar.cues = cues;
    debug.storyboardCues = cues.length;
    // Fetch the sprites now so the first hover shows a picture, not a blank.
    for (const src of new Set(cues.map((c) => c.url))) new Image().src = src;
  } catch (err) {
    console.info(`classcast: no storyboard previews (${err instanceof Error ? err.message : String(err)})`);
  }
}

// ---------------------------------------------------------------- play, sound, toast

function renderPlay() {
  const playing = !video.paused && !video.ended;
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

// ---------------------------------------------------------------- menus: speed and quality

function closeMenus(except?: HTMLElement) {
  for (const [btn, menu] of [
    [ui.speed, ui.speedMenu],
    [ui.quality, ui.qualityMenu],
  ] as const) {
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
  ui.speed.title = `${t('ctl.speed')} (, .)`;
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

ui.speed.addEventListener('click', () => toggleMenu(ui.speed, ui.speedMenu));
ui.quality.addEventListener('click', () => toggleMenu(ui.quality, ui.qualityMenu));
document.addEventListener('pointerdown', (ev) => {
  const target = ev.target as Node;
  if (!ui.speedMenu.parentElement!.contains(target) && !ui.qualityWrap.contains(target)) closeMenus();
});

// ---------------------------------------------------------------- fullscreen

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
document.addEventListener('fullscreenchange', renderFullscreen);

// ---------------------------------------------------------------- keyboard, pointer, idle controls

function seekBy(delta: number) {
  if (!ui.stage.dataset.ready) return;
  seekTo(seekBar.position() + delta);
}

document.addEventListener('keydown', (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
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
  idleTimer = window.setTimeout(() => {
    if (ui.speedMenu.hidden && ui.qualityMenu.hidden && !seekBar.active) ui.stage.classList.add('idle');
    else wake();
  }, CONTROLS_IDLE_MS);
}
for (const type of ['pointermove', 'pointerdown', 'keydown', 'focusin']) {
  ui.stage.addEventListener(type, wake);
}

// ---------------------------------------------------------------- start

ui.back.href = libraryPageUrl(token);
bindLangToggle(ui.langToggle);
bindNav(token);
onLangChange(render);
applyI18n();
render();

document.addEventListener('visibilitychange', () => {
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
