// The recordings tab of /library (?tab=recordings): every recording and
// micro-lecture asset, newest first, with where each is in processing. Refreshes
// every 3 s while any of them is still recording, queued or processing and the
// tab is visible. The element ids are the page's contract with scripts/smoke.mjs.

import { ApiError, apiGet } from './api';
import {
  ASSET_STATES,
  assetListQuery,
  assetName,
  assetStateLabel,
  assetStepLabel,
  isSettled,
  parseAssetPage,
  watchPageUrl,
  withToken,
  type Asset,
  type AssetPage,
} from './assets';
import { formatDateTime, formatDuration, formatPercent } from './format';
import { getLang, onLangChange, t } from './i18n';
import { makeLessonErrorText, makeLessonOf, offersMakeLesson } from './make-lesson';
import { qualityName } from './quality';
import { backoffMs } from './retry';
import { type Me, type User } from './session';

/**
 * Starts the recordings tab: list, filters, paging and polling. token is the viewer's
 * ?token=; me, the signed-in caller, lets teachers make a lesson of a class recording.
 */
export function startRecordings(token: string | null, me: Promise<Me | null> = Promise.resolve(null)): void {
  const PAGE_SIZE = 50;
  const POLL_MS = 3000;
  let caller: User | null = null;

  function $<T extends HTMLElement>(id: string): T {
    const el = document.getElementById(id);
    if (!el) throw new Error(`library.html lacks #${id}`);
    return el as T;
  }

  const ui = {
    filters: $<HTMLDivElement>('filters'),
    list: $<HTMLUListElement>('asset-list'),
    empty: $<HTMLDivElement>('empty'),
    emptyTitle: $<HTMLParagraphElement>('empty-title'),
    emptyHint: $<HTMLParagraphElement>('empty-hint'),
    loadError: $<HTMLParagraphElement>('load-error'),
    updated: $<HTMLSpanElement>('updated'),
    pager: $<HTMLElement>('pager'),
    pagerInfo: $<HTMLSpanElement>('pager-info'),
    prev: $<HTMLButtonElement>('prev'),
    next: $<HTMLButtonElement>('next'),
  };

  const pageUrl = new URL(location.href);

  /** The filter ('' for every state) and page (1-based) live in the URL, so reload and links keep them. */
  let filter = (ASSET_STATES as readonly string[]).includes(pageUrl.searchParams.get('state') ?? '')
    ? pageUrl.searchParams.get('state')!
    : '';
  let page = Math.max(1, Math.floor(Number(pageUrl.searchParams.get('page'))) || 1);

  let data: AssetPage | null = null;
  let loadError: string | null = null;
  let failures = 0;
  let updatedAt: Date | null = null;

  function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // ---------------------------------------------------------------- cards

  function card(a: Asset): HTMLLIElement {
    const lang = getLang();
    const li = el('li', 'asset-card');
    li.dataset.id = a.id;
    li.dataset.state = a.state;
    const link = el('a', 'stream-link asset-link');
    link.href = watchPageUrl(a.id, token);

    const thumb = el('div', 'thumb asset-thumb');
    if (a.state === 'ready' && a.poster_url) {
      const img = el('img', 'thumb-img');
      img.src = withToken(a.poster_url, token);
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      // A poster that will not load leaves the play mark on the gradient.
      img.addEventListener('error', () => img.remove());
      thumb.append(img);
    }
    if (a.state === 'ready') thumb.append(el('span', 'thumb-play'));
    if (a.duration_seconds > 0) thumb.append(el('span', 'thumb-duration', formatDuration(a.duration_seconds)));
    link.append(thumb);

    const body = el('div', 'card-body');
    const title = el('div', 'card-title');
    title.append(el('span', 'card-room', assetName(a)));
    if (a.title && a.stream_path) title.append(el('span', 'card-school', a.stream_path));
    body.append(title);

    const meta = el('div', 'card-meta');
    const badge = el('span', 'badge badge-asset', assetStateLabel(a.state, lang));
    badge.dataset.state = a.state;
    meta.append(badge);
    if (a.kind === 'clip') meta.append(el('span', 'asset-kind', t('asset.kind.clip')));
    const created = formatDateTime(a.created_at, lang);
    if (created) {
      const time = el('time', 'asset-time', created);
      time.dateTime = a.created_at;
      meta.append(time);
    }
    if (a.state === 'ready' && a.height > 0) meta.append(el('span', 'asset-res', qualityName(a)));
    body.append(meta);

    if (a.state === 'processing') {
      const pct = formatPercent(a.percent);
      const bar = el('div', 'progress');
      bar.setAttribute('role', 'progressbar');
      bar.setAttribute('aria-valuemin', '0');
      bar.setAttribute('aria-valuemax', '100');
      bar.setAttribute('aria-valuenow', pct);
      const fill = el('div', 'progress-fill');
      fill.style.width = `${pct}%`;
      bar.append(fill);
      const step = a.step ? assetStepLabel(a.step, lang) : '';
      body.append(bar, el('div', 'progress-text', step ? `${step} · ${pct}%` : `${pct}%`));
    }
    if (a.state === 'failed') {
      body.append(el('p', 'asset-error', a.error ? t('library.failed', { reason: a.error }) : t('watch.failed.unknown')));
    }
    link.append(body);
    li.append(link);
    if (offersMakeLesson(caller, a)) li.append(makeLessonButton(a));
    return li;
  }

  /** 做成课程 under a class recording's card (make-lesson.ts). */
  function makeLessonButton(a: Asset): HTMLDivElement {
    const box = el('div', 'asset-actions');
    const button = el('button', 'btn btn-small', t('library.rec.makeLesson'));
    button.type = 'button';
    button.dataset.testid = 'make-lesson';
    const note = el('p', 'asset-error');
    note.hidden = true;
    button.addEventListener('click', () => {
      button.disabled = true;
      note.hidden = true;
      makeLessonOf(a)
        .then((url) => location.assign(url))
        .catch((err: unknown) => {
          button.disabled = false;
          note.textContent = makeLessonErrorText(err);
          note.hidden = false;
        });
    });
    box.append(button, note);
    return box;
  }

  /** Cards by asset id with what they were made from, so a poll that changes nothing rebuilds nothing (no flicker). */
  const cards = new Map<string, { key: string; li: HTMLLIElement }>();

  function cardFor(a: Asset): HTMLLIElement {
    const key = `${getLang()}|${caller?.role ?? ''}|${JSON.stringify(a)}`;
    const have = cards.get(a.id);
    if (have && have.key === key) return have.li;
    const li = card(a);
    cards.set(a.id, { key, li });
    return li;
  }

  // ---------------------------------------------------------------- page

  function renderFilters() {
    const choices = ['', ...ASSET_STATES];
    if (ui.filters.children.length !== choices.length) {
      ui.filters.replaceChildren(
        ...choices.map((state) => {
          const b = el('button', 'chip');
          b.type = 'button';
          b.dataset.state = state;
          b.addEventListener('click', () => setFilter(state));
          return b;
        }),
      );
    }
    for (const b of ui.filters.children as HTMLCollectionOf<HTMLButtonElement>) {
      const state = b.dataset.state ?? '';
      b.textContent = state ? assetStateLabel(state, getLang()) : t('library.filter.all');
      b.setAttribute('aria-pressed', String(state === filter));
    }
  }

  function render() {
    renderFilters();
    ui.loadError.hidden = loadError === null;
    ui.loadError.textContent = loadError ? t('library.loadError', { message: loadError }) : '';
    ui.updated.textContent = updatedAt
      ? t('list.updated', { time: updatedAt.toLocaleTimeString(getLang() === 'zh' ? 'zh-CN' : 'en-GB') })
      : '';
    if (data === null) return;
    const shown = data.assets.map(cardFor);
    ui.list.replaceChildren(...shown);
    for (const id of cards.keys()) if (!data.assets.some((a) => a.id === id)) cards.delete(id);

    ui.empty.hidden = data.assets.length > 0;
    ui.emptyTitle.textContent = filter
      ? t('library.empty.filtered', { state: assetStateLabel(filter, getLang()) })
      : t('library.empty');
    ui.emptyHint.textContent = filter ? '' : t('library.empty.hint');
    ui.emptyHint.hidden = filter !== '';

    const from = (page - 1) * PAGE_SIZE;
    ui.pager.hidden = data.total <= PAGE_SIZE && page === 1;
    ui.pagerInfo.textContent = data.assets.length
      ? t('library.page', { from: from + 1, to: from + data.assets.length, total: data.total })
      : '';
    ui.prev.disabled = page <= 1;
    ui.next.disabled = from + data.assets.length >= data.total;
  }

  function writeUrl() {
    const u = new URL(location.href);
    if (filter) u.searchParams.set('state', filter);
    else u.searchParams.delete('state');
    if (page > 1) u.searchParams.set('page', String(page));
    else u.searchParams.delete('page');
    history.replaceState(null, '', u.pathname + u.search);
  }

  let inflight: AbortController | null = null;
  let timer = 0;

  async function refresh() {
    clearTimeout(timer);
    inflight?.abort();
    const ctl = new AbortController();
    inflight = ctl;
    try {
      const body = await apiGet<unknown>(assetListQuery(page, PAGE_SIZE, filter), token, ctl.signal);
      if (ctl !== inflight) return;
      const next = parseAssetPage(body);
      // Past the end (the list shrank while we were on the last page): go to the new last page.
      if (next.assets.length === 0 && next.total > 0 && page > 1) {
        page = Math.ceil(next.total / PAGE_SIZE);
        writeUrl();
        void refresh();
        return;
      }
      data = next;
      updatedAt = new Date();
      loadError = null;
      failures = 0;
    } catch (err) {
      if (ctl.signal.aborted) return;
      failures++;
      loadError = err instanceof ApiError ? `${err.message} (${err.status})` : err instanceof Error ? err.message : String(err);
    }
    inflight = null;
    render();
    schedule();
  }

  /** Polls while something on this page can still change, and only while someone looks. */
  function schedule() {
    clearTimeout(timer);
    if (document.visibilityState === 'hidden') return;
    let wait = 0;
    if (loadError !== null) wait = backoffMs(failures);
    else if (data?.assets.some((a) => !isSettled(a.state))) wait = POLL_MS;
    if (wait > 0) timer = window.setTimeout(() => void refresh(), wait);
  }

  function setFilter(state: string) {
    if (state === filter) return;
    filter = state;
    page = 1;
    writeUrl();
    data = null;
    ui.list.replaceChildren();
    ui.empty.hidden = true;
    ui.pager.hidden = true;
    renderFilters();
    void refresh();
  }

  function goPage(n: number) {
    page = Math.max(1, n);
    writeUrl();
    void refresh();
    window.scrollTo({ top: 0 });
  }

  ui.prev.addEventListener('click', () => goPage(page - 1));
  ui.next.addEventListener('click', () => goPage(page + 1));
  onLangChange(render);
  render();
  void refresh();
  void me.then((m) => {
    caller = m?.user ?? null;
    if (caller) render();
  });
  // Stop polling in a hidden tab; catch up at once when it comes back.
  document.addEventListener('visibilitychange', () => {
    if (document.visibilityState === 'visible') void refresh();
    else clearTimeout(timer);
  });
}
