// The lessons tab of /library (the default): search as you type, filters, sort,
// result cards and paging. The query lives in the URL (library-query.ts), so a
// link such as /library?q=勾股 opens with its results and the back button steps
// through earlier searches. Text from users only ever reaches the page as text
// nodes.

import { ApiError, apiGet } from './api';
import { parseAsset, withToken, type Asset } from './assets';
import { formatDuration } from './format';
import { getLang, onLangChange, t, type MessageKey } from './i18n';
import { needsReviewBadge, parseLibraryPage, pointsToShow, subjectGrade, type LibraryLesson } from './library-cards';
import { splitHighlight } from './library-highlight';
import {
  cleanQuery,
  clampPage,
  isFiltered,
  LESSON_PAGE_SIZE,
  LESSON_SORTS,
  LESSON_STATES,
  lessonQueryFromParams,
  lessonQueryToParams,
  lessonsApiPath,
  pageCount,
  pageOffset,
  pageWindow,
  type LessonQuery,
} from './library-query';
import { badge, byId, h, reviewBadge } from './portal';
import { hasRole, type Me } from './session';

/** How long typing must pause before the search runs. */
const DEBOUNCE_MS = 300;
/** Asset look-ups (for posters) in flight at once. */
const ASSET_CONCURRENCY = 4;

/** Appends text to parent with each occurrence of q in a <mark>. */
function appendHighlighted(parent: HTMLElement, text: string, q: string): void {
  for (const part of splitHighlight(text, q)) {
    parent.append(part.match ? h('mark', 'lib-hit', part.text) : document.createTextNode(part.text));
  }
}

/** Starts the lessons tab. me resolves to the caller (null: anonymous) once the top bar knows. */
export function startLessons(token: string | null, me: Promise<Me | null>): void {
  const ui = {
    form: byId<HTMLFormElement>('lessons-form'),
    q: byId<HTMLInputElement>('lessons-q'),
    subject: byId<HTMLInputElement>('lessons-subject'),
    grade: byId<HTMLInputElement>('lessons-grade'),
    stateField: byId<HTMLLabelElement>('lessons-state-field'),
    state: byId<HTMLSelectElement>('lessons-state'),
    sort: byId<HTMLSelectElement>('lessons-sort'),
    reset: byId<HTMLButtonElement>('lessons-reset'),
    point: byId<HTMLDivElement>('lessons-point'),
    pointText: byId<HTMLSpanElement>('lessons-point-text'),
    pointClear: byId<HTMLButtonElement>('lessons-point-clear'),
    count: byId<HTMLParagraphElement>('lessons-count'),
    error: byId<HTMLDivElement>('lessons-error'),
    errorText: byId<HTMLSpanElement>('lessons-error-text'),
    retry: byId<HTMLButtonElement>('lessons-retry'),
    list: byId<HTMLUListElement>('lesson-list'),
    empty: byId<HTMLDivElement>('lessons-empty'),
    emptyTitle: byId<HTMLParagraphElement>('lessons-empty-title'),
    emptyHint: byId<HTMLParagraphElement>('lessons-empty-hint'),
    pager: byId<HTMLElement>('lessons-pager'),
    pages: byId<HTMLSpanElement>('lessons-pages'),
    pageInfo: byId<HTMLSpanElement>('lessons-page-info'),
    prev: byId<HTMLButtonElement>('lessons-prev'),
    next: byId<HTMLButtonElement>('lessons-next'),
  };

  let query: LessonQuery = lessonQueryFromParams(new URL(location.href).searchParams);
  let reviewer = false;
  let result: { lessons: LibraryLesson[]; total: number } | null = null;
  /** The query result holds results for (its q highlights them, even while the box is edited). */
  let shownQuery: LessonQuery = query;
  let loading = false;
  let loadError: unknown = null;
  /** What the cards on the page were made from. */
  let cardsKey = '';

  // ------------------------------------------------------------ URL

  /** Writes query to the address bar: push for a deliberate step (filter, page), replace while typing. */
  function writeUrl(mode: 'push' | 'replace') {
    const cur = new URL(location.href).searchParams;
    const p = lessonQueryToParams(query, { tab: cur.get('tab'), token });
    const next = `${location.pathname}${p.size ? `?${p.toString()}` : ''}`;
    if (next === location.pathname + location.search) return;
    if (mode === 'push') history.pushState(null, '', next);
    else history.replaceState(null, '', next);
  }

  /** Applies a change to the query, writes the URL and loads. */
  function update(change: Partial<LessonQuery>, mode: 'push' | 'replace') {
    const next = { ...query, ...change };
    if (!('page' in change)) next.page = 1; // a new search or filter starts on its first page
    if (JSON.stringify(next) === JSON.stringify(query) && result !== null && loadError === null) return;
    query = next;
    writeUrl(mode);
    void load();
  }

  // ------------------------------------------------------------ form

  function fillSelects() {
    const lang = getLang();
    ui.state.replaceChildren(
      new Option(t('library.f.state.any'), ''),
      ...LESSON_STATES.map((s) => new Option(reviewBadge(s, lang).label, s)),
    );
    const sorts = LESSON_SORTS.filter((s) => s !== 'submitted' || reviewer);
    ui.sort.replaceChildren(...sorts.map((s) => new Option(t(`library.sort.${s}` as MessageKey), s === 'newest' ? '' : s)));
    ui.state.value = query.state;
    ui.sort.value = query.sort === 'newest' ? '' : query.sort;
    if (ui.sort.selectedIndex < 0) ui.sort.value = '';
    ui.q.placeholder = t('library.search.placeholder');
    ui.subject.placeholder = t('library.f.subject.any');
    ui.grade.placeholder = t('library.f.grade.any');
  }

  /** Puts the query into the controls (at start and after the back button). */
  function fillForm() {
    ui.q.value = query.q;
    ui.subject.value = query.subject;
    ui.grade.value = query.grade;
    fillSelects();
  }

  let typing = 0;
  /** Runs the search from the boxes: now, or after the typing pause. */
  function fromBoxes(now: boolean) {
    clearTimeout(typing);
    const go = () =>
      update({ q: cleanQuery(ui.q.value), subject: ui.subject.value.trim(), grade: ui.grade.value.trim() }, 'replace');
    if (now) go();
    else typing = window.setTimeout(go, DEBOUNCE_MS);
  }

  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    fromBoxes(true);
  });
  for (const box of [ui.q, ui.subject, ui.grade]) {
    // While a Chinese input method composes, the box holds pinyin: search once the characters are chosen.
    box.addEventListener('input', (e) => {
      if (!(e as InputEvent).isComposing) fromBoxes(false);
    });
    box.addEventListener('compositionend', () => fromBoxes(false));
    // Enter in a filter box (outside the search form) searches at once too.
    box.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && !e.isComposing) {
        e.preventDefault();
        fromBoxes(true);
      }
    });
  }
  // Picking a datalist suggestion fires change: no need to wait.
  ui.subject.addEventListener('change', () => fromBoxes(true));
  ui.grade.addEventListener('change', () => fromBoxes(true));
  ui.state.addEventListener('change', () => update({ state: ui.state.value }, 'push'));
  ui.sort.addEventListener('change', () => update({ sort: ui.sort.value }, 'push'));
  ui.reset.addEventListener('click', () => {
    clearTimeout(typing);
    query = { ...query, q: '', subject: '', grade: '', state: '', point: '', page: 1 };
    fillForm();
    writeUrl('push');
    void load();
    ui.q.focus();
  });
  ui.pointClear.addEventListener('click', () => update({ point: '' }, 'push'));
  ui.retry.addEventListener('click', () => void load());

  function goPage(n: number) {
    update({ page: n }, 'push');
    window.scrollTo({ top: 0 });
  }
  ui.prev.addEventListener('click', () => goPage(query.page - 1));
  ui.next.addEventListener('click', () => goPage(query.page + 1));

  // The back and forward buttons: read the URL again.
  window.addEventListener('popstate', () => {
    const params = new URL(location.href).searchParams;
    if ((params.get('tab') ?? 'lessons') !== 'lessons') {
      location.reload();
      return;
    }
    clearTimeout(typing);
    query = lessonQueryFromParams(params);
    fillForm();
    void load();
  });

  // ------------------------------------------------------------ posters

  /** Asset per id: undefined not asked yet, null unknown (missing, not allowed, failed). */
  const assets = new Map<string, Pick<Asset, 'state' | 'poster_url'> | null>();
  const assetQueue: string[] = [];
  let assetsInFlight = 0;

  function wantAssets(ids: string[]) {
    for (const id of ids) if (id && !assets.has(id) && !assetQueue.includes(id)) assetQueue.push(id);
    pumpAssets();
  }

  function pumpAssets() {
    while (assetsInFlight < ASSET_CONCURRENCY && assetQueue.length > 0) {
      const id = assetQueue.shift()!;
      assetsInFlight++;
      void apiGet<unknown>(`/assets/${encodeURIComponent(id)}`, token)
        .then((body) => assets.set(id, parseAsset(body)))
        .catch(() => assets.set(id, null)) // no poster then; the card keeps its placeholder
        .finally(() => {
          assetsInFlight--;
          fillThumbs(id);
          pumpAssets();
        });
    }
  }

  /** Puts the poster into the cards of asset id once the asset is known to be ready. */
  function fillThumbs(id: string) {
    const a = assets.get(id);
    if (!a || a.state !== 'ready' || !a.poster_url) return;
    ui.list.querySelectorAll<HTMLElement>('.lesson-thumb').forEach((thumb) => {
      if (thumb.dataset.asset !== id || thumb.querySelector('img')) return;
      const img = h('img', 'thumb-img');
      img.src = withToken(a.poster_url, token);
      img.alt = '';
      img.loading = 'lazy';
      img.decoding = 'async';
      img.addEventListener('error', () => img.remove()); // a poster that will not load leaves the placeholder
      thumb.dataset.poster = 'true';
      thumb.prepend(img);
    });
  }

  // ------------------------------------------------------------ cards

  function card(l: LibraryLesson, q: string): HTMLLIElement {
    const lang = getLang();
    const li = h('li', 'lesson-card');
    li.dataset.id = l.id;
    li.dataset.state = l.state;
    li.dataset.testid = 'library-card';
    const link = h('a', 'stream-link lesson-link');
    link.href = withToken(`/lessons/${encodeURIComponent(l.id)}`, token);

    const thumb = h('div', 'thumb lesson-thumb');
    thumb.dataset.asset = l.asset_id;
    thumb.append(h('span', 'thumb-play'));
    if (!l.asset_id) thumb.append(h('span', 'lesson-novideo', t('library.card.noVideo')));
    if (l.duration_ms > 0) thumb.append(h('span', 'thumb-duration', formatDuration(l.duration_ms / 1000)));
    link.append(thumb);

    const body = h('div', 'card-body');
    const title = h('h3', 'lesson-title');
    appendHighlighted(title, l.title || l.id, q);
    body.append(title);

    const by = h('div', 'lesson-by');
    if (l.teacher_name) {
      const teacher = h('span', 'lesson-teacher');
      appendHighlighted(teacher, l.teacher_name, q);
      by.append(teacher);
    }
    if (l.school_name || l.school_id) by.append(h('span', 'lesson-school', l.school_name || l.school_id));
    if (by.childElementCount > 0) body.append(by);

    const meta = h('div', 'card-meta');
    const sg = subjectGrade(l.subject, l.grade);
    if (sg) meta.append(h('span', 'lesson-subject', sg));
    if (needsReviewBadge(l.state)) meta.append(badge('review', reviewBadge(l.state, lang)));
    if (meta.childElementCount > 0) body.append(meta);

    const { shown, more } = pointsToShow(l.knowledge_points, q);
    if (shown.length > 0) {
      const points = h('ul', 'lesson-points');
      for (const p of shown) {
        const chip = h('li', 'lesson-point');
        appendHighlighted(chip, p, q);
        points.append(chip);
      }
      if (more > 0) points.append(h('li', 'lesson-point lesson-point-more', `+${more}`));
      body.append(points);
    }
    link.append(body);
    li.append(link);
    return li;
  }

  // ------------------------------------------------------------ render

  function render() {
    fillSelects();
    ui.stateField.hidden = !reviewer;
    ui.reset.hidden = !isFiltered(query);
    ui.point.hidden = query.point === '';
    ui.pointText.textContent = query.point ? t('library.f.point', { point: query.point }) : '';
    ui.list.setAttribute('aria-busy', String(loading));
    ui.list.classList.toggle('is-loading', loading && result !== null);

    ui.error.hidden = loadError === null;
    if (loadError !== null) {
      const message = loadError instanceof ApiError ? `${loadError.message} (${loadError.status})` : loadError instanceof Error ? loadError.message : String(loadError);
      ui.errorText.textContent = t('library.lessons.error', { message });
    }

    if (result === null) {
      ui.count.textContent = loading ? t('library.loading') : '';
      ui.list.replaceChildren();
      cardsKey = '';
      ui.empty.hidden = true;
      ui.pager.hidden = true;
      return;
    }
    const q = shownQuery.q;
    ui.count.textContent = q ? t('library.results.q', { q, total: result.total }) : t('library.results', { total: result.total });
    // Rebuild the cards only when what they show changed (not for the loading dim), so posters do not flicker.
    const key = `${getLang()}|${q}|${JSON.stringify(result.lessons)}`;
    if (key !== cardsKey) {
      cardsKey = key;
      ui.list.replaceChildren(...result.lessons.map((l) => card(l, q)));
      for (const l of result.lessons) fillThumbs(l.asset_id);
    }

    ui.empty.hidden = result.lessons.length > 0 || loadError !== null;
    if (isFiltered(shownQuery)) {
      ui.emptyTitle.textContent = q ? t('library.lessons.none.q', { q }) : t('library.lessons.none');
      ui.emptyHint.textContent = t('library.lessons.none.hint');
    } else {
      ui.emptyTitle.textContent = t('library.lessons.empty');
      ui.emptyHint.textContent = t('library.lessons.empty.hint');
    }

    const count = pageCount(result.total, LESSON_PAGE_SIZE);
    const page = shownQuery.page;
    ui.pager.hidden = count <= 1 && page === 1;
    ui.prev.disabled = page <= 1;
    ui.next.disabled = pageOffset(page, LESSON_PAGE_SIZE) + result.lessons.length >= result.total;
    ui.pageInfo.textContent = t('library.pageOf', { page, count });
    ui.pages.replaceChildren(
      ...pageWindow(page, count).map((n) => {
        if (n === null) return h('span', 'lib-gap', '…');
        const b = h('button', 'pager-btn lib-page', String(n));
        b.type = 'button';
        b.dataset.page = String(n);
        b.setAttribute('aria-label', t('library.goPage', { page: n }));
        if (n === page) b.setAttribute('aria-current', 'page');
        else b.addEventListener('click', () => goPage(n));
        return b;
      }),
    );
  }

  // ------------------------------------------------------------ load

  let inflight: AbortController | null = null;

  async function load(): Promise<void> {
    inflight?.abort();
    const ctl = new AbortController();
    inflight = ctl;
    const asked = { ...query };
    loading = true;
    render();
    try {
      const page = parseLibraryPage(await apiGet<unknown>(lessonsApiPath(asked), token, ctl.signal));
      if (ctl !== inflight) return;
      // Past the end (a shared link to page 9 of what is now 2 pages): show the last page.
      const last = clampPage(asked.page, page.total, LESSON_PAGE_SIZE);
      if (page.lessons.length === 0 && page.total > 0 && asked.page > last) {
        inflight = null;
        query = { ...query, page: last };
        writeUrl('replace');
        return load();
      }
      result = page;
      shownQuery = asked;
      loadError = null;
      // The list says each lesson's media state; ask for the assets only of an older
      // server that does not.
      for (const l of page.lessons) {
        if (l.asset_id && l.asset_state) assets.set(l.asset_id, { state: l.asset_state, poster_url: l.poster_url });
      }
      wantAssets(page.lessons.filter((l) => !l.asset_state).map((l) => l.asset_id));
    } catch (err) {
      if (ctl.signal.aborted || ctl !== inflight) return;
      loadError = err;
    }
    inflight = null;
    loading = false;
    render();
  }

  // ------------------------------------------------------------ start

  fillForm();
  onLangChange(render);
  void load();
  void me.then((who) => {
    reviewer = hasRole(who, 'reviewer');
    render();
  });
  // Focus the search on wide screens only: on a phone it would pop the keyboard over the results.
  if (!query.q && window.matchMedia('(min-width: 720px)').matches) ui.q.focus({ preventScroll: true });
}
