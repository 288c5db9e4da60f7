// The landing page at /: the live classes, refreshed every 5 s.

import './styles/base.css';
import './styles/home.css';
import { ApiError, apiGet, parseStreams, type StreamInfo } from './api';
import { bindLangToggle, getLang, onLangChange, t, type MessageKey } from './i18n';
import { bindNav } from './nav';
import { livePageUrl } from './streampath';

const REFRESH_MS = 5000;

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`index.html lacks #${id}`);
  return el as T;
}

const ui = {
  liveList: $<HTMLUListElement>('live-list'),
  offlineList: $<HTMLUListElement>('offline-list'),
  offlineSection: $<HTMLElement>('offline-section'),
  empty: $<HTMLDivElement>('empty'),
  loadError: $<HTMLParagraphElement>('load-error'),
  updated: $<HTMLSpanElement>('updated'),
};

const token = new URL(location.href).searchParams.get('token');

let streams: StreamInfo[] | null = null;
let updatedAt: Date | null = null;
let loadError: string | null = null;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

function sourceLabel(source: string): string {
  const key = `source.${source}` as MessageKey;
  const text = t(key);
  return text === key ? source : text;
}

function card(s: StreamInfo): HTMLLIElement {
  const li = el('li', 'stream-card');
  li.dataset.path = s.path;
  const a = el('a', 'stream-link');
  a.href = livePageUrl(s.path, token);

  const thumb = el('div', 'thumb');
  thumb.setAttribute('aria-hidden', 'true');
  thumb.append(el('span', 'thumb-play'));
  a.append(thumb);

  const body = el('div', 'card-body');
  const slash = s.path.lastIndexOf('/');
  const title = el('div', 'card-title');
  title.append(el('span', 'card-room', slash >= 0 ? s.path.slice(slash + 1) : s.path));
  if (slash >= 0) title.append(el('span', 'card-school', s.path.slice(0, slash)));
  body.append(title);

  const meta = el('div', 'card-meta');
  const badge = el('span', `badge ${s.live ? 'badge-live' : 'badge-offline'}`, t(s.live ? 'list.live' : 'list.offline'));
  meta.append(badge);
  if (s.live) meta.append(el('span', 'viewers', t('list.viewers', { n: s.viewers })));
  if (s.codecs.length) meta.append(el('span', 'codecs', s.codecs.join(' · ')));
  if (s.source) meta.append(el('span', 'source', sourceLabel(s.source)));
  body.append(meta);
  a.append(body);
  li.append(a);
  return li;
}

function render() {
  document.title = t('list.title');
  ui.loadError.hidden = loadError === null;
  ui.loadError.textContent = loadError ? t('list.loadError', { message: loadError }) : '';
  ui.updated.textContent = updatedAt
    ? t('list.updated', { time: updatedAt.toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en-GB') })
    : '';
  if (streams === null) return;
  const live = streams.filter((s) => s.live);
  const offline = streams.filter((s) => !s.live);
  ui.liveList.replaceChildren(...live.map(card));
  ui.offlineList.replaceChildren(...offline.map(card));
  ui.empty.hidden = live.length > 0;
  ui.offlineSection.hidden = offline.length === 0;
}

async function refresh() {
  try {
    streams = parseStreams(await apiGet<unknown>('/streams', token));
    updatedAt = new Date();
    loadError = null;
  } catch (err) {
    loadError = err instanceof ApiError ? `${err.message} (${err.status})` : err instanceof Error ? err.message : String(err);
  }
  render();
}

let timer = 0;
function schedule() {
  clearTimeout(timer);
  timer = window.setTimeout(async () => {
    await refresh();
    schedule();
  }, REFRESH_MS);
}

bindLangToggle($('lang-toggle'));
bindNav(token);
onLangChange(render);
render();
void refresh().then(schedule);
// Catch up at once when the tab comes back instead of waiting for the next tick.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void refresh().then(schedule);
});
