// The coverage tab of /library (?tab=coverage&subject=数学&grade=八年级): which
// knowledge points of a subject and grade already have an approved or published
// micro-lecture (linked), and which have none yet, with a covered/total bar. The
// API needs a signed-in user, so anonymous visitors get a sign-in link.

import { ApiError, apiGet } from './api';
import { withToken } from './assets';
import { onLangChange, t } from './i18n';
import {
  coveragePercent,
  mergeSuggestions,
  parseCoverage,
  parseCurricula,
  splitCoverage,
  type Coverage,
  type Curriculum,
  type PointCoverage,
} from './library-coverage';
import { GRADES, SUBJECTS, coverageApiPath, coverageQueryFromParams, tabHref, type CoverageQuery } from './library-query';
import { byId, h } from './portal';
import { signInUrl, type Me } from './session';

/** Starts the coverage tab once the caller is known. */
export function startCoverage(token: string | null, me: Promise<Me | null>): void {
  const ui = {
    signin: byId<HTMLDivElement>('coverage-signin'),
    signinLink: byId<HTMLAnchorElement>('coverage-signin-link'),
    form: byId<HTMLFormElement>('coverage-form'),
    subject: byId<HTMLInputElement>('coverage-subject'),
    grade: byId<HTMLInputElement>('coverage-grade'),
    pick: byId<HTMLParagraphElement>('coverage-pick'),
    curricula: byId<HTMLElement>('coverage-curricula'),
    error: byId<HTMLDivElement>('coverage-error'),
    errorText: byId<HTMLSpanElement>('coverage-error-text'),
    retry: byId<HTMLButtonElement>('coverage-retry'),
    loading: byId<HTMLParagraphElement>('coverage-loading'),
    result: byId<HTMLDivElement>('coverage-result'),
    summaryText: byId<HTMLParagraphElement>('coverage-summary-text'),
    bar: byId<HTMLDivElement>('coverage-bar'),
    barFill: byId<HTMLDivElement>('coverage-bar-fill'),
    empty: byId<HTMLDivElement>('coverage-empty'),
    emptyTitle: byId<HTMLParagraphElement>('coverage-empty-title'),
    groups: byId<HTMLDivElement>('coverage-groups'),
    uncoveredTitle: byId<HTMLHeadingElement>('coverage-uncovered-title'),
    uncovered: byId<HTMLUListElement>('coverage-uncovered'),
    uncoveredNone: byId<HTMLParagraphElement>('coverage-uncovered-none'),
    coveredTitle: byId<HTMLHeadingElement>('coverage-covered-title'),
    covered: byId<HTMLUListElement>('coverage-covered'),
    coveredNone: byId<HTMLParagraphElement>('coverage-covered-none'),
  };

  let query: CoverageQuery = coverageQueryFromParams(new URL(location.href).searchParams);
  let data: Coverage | null = null;
  let loadError: unknown = null;
  let loading = false;

  function uncoveredItem(p: PointCoverage): HTMLLIElement {
    const li = h('li', 'lib-cov-point');
    li.dataset.point = p.point;
    li.dataset.covered = 'false';
    li.append(h('span', 'lib-cov-name', p.point));
    if (!p.inCurriculum) li.append(h('span', 'lib-cov-extra', t('library.cov.notInCurriculum')));
    if (p.lessons > 0) {
      // Lessons tagged with the point: where a teacher can cut the missing micro-lecture from.
      const a = h('a', 'lib-cov-lessons', t('library.cov.lessons', { n: p.lessons }));
      a.href = tabHref('lessons', token, { point: p.point, subject: query.subject, grade: query.grade });
      a.title = t('library.cov.findLessons');
      li.append(a);
    }
    return li;
  }

  function coveredItem(p: PointCoverage): HTMLLIElement {
    const li = h('li', 'lib-cov-point');
    li.dataset.point = p.point;
    li.dataset.covered = 'true';
    const first = p.clipIds[0];
    if (first) {
      const a = h('a', 'lib-cov-name', p.point);
      a.href = withToken(`/clips/${encodeURIComponent(first)}`, token);
      li.append(a);
    } else {
      li.append(h('span', 'lib-cov-name', p.point));
    }
    if (!p.inCurriculum) li.append(h('span', 'lib-cov-extra', t('library.cov.notInCurriculum')));
    // More than one micro-lecture: link each of the others too.
    p.clipIds.slice(1).forEach((id, i) => {
      const a = h('a', 'lib-cov-clip', t('library.cov.clip', { n: i + 2 }));
      a.href = withToken(`/clips/${encodeURIComponent(id)}`, token);
      li.append(a);
    });
    return li;
  }

  function render() {
    ui.pick.hidden = coverageApiPath(query) !== null;
    ui.loading.hidden = !(loading && data === null);
    ui.error.hidden = loadError === null;
    if (loadError !== null) {
      const message = loadError instanceof ApiError ? `${loadError.message} (${loadError.status})` : loadError instanceof Error ? loadError.message : String(loadError);
      ui.errorText.textContent = t('library.cov.error', { message });
    }
    ui.result.hidden = data === null;
    if (!data) return;
    const percent = coveragePercent(data.covered, data.total);
    ui.summaryText.textContent = t('library.cov.summary', { covered: data.covered, total: data.total, percent });
    ui.bar.setAttribute('aria-valuenow', String(percent));
    ui.bar.setAttribute('aria-label', ui.summaryText.textContent);
    ui.barFill.style.width = `${data.total > 0 ? (data.covered * 100) / data.total : 0}%`;
    ui.empty.hidden = data.total > 0;
    ui.groups.hidden = data.total === 0;
    ui.emptyTitle.textContent = t('library.cov.empty', { subject: data.subject || query.subject, grade: data.grade || query.grade });
    const { uncovered, covered } = splitCoverage(data.points);
    ui.uncoveredTitle.textContent = t('library.cov.uncovered', { n: uncovered.length });
    ui.coveredTitle.textContent = t('library.cov.covered', { n: covered.length });
    ui.uncovered.replaceChildren(...uncovered.map(uncoveredItem));
    ui.covered.replaceChildren(...covered.map(coveredItem));
    ui.uncoveredNone.hidden = uncovered.length > 0;
    ui.coveredNone.hidden = covered.length > 0;
  }

  // The subjects and grades that have a curriculum: one-click choices, and the boxes'
  // suggestions (a school's own subjects, e.g. 信息科技, join the fixed ones).
  let curricula: Curriculum[] = [];

  function renderCurricula() {
    ui.curricula.hidden = curricula.length === 0;
    ui.curricula.replaceChildren(
      ...curricula.map((c) => {
        const a = h('a', 'lib-cov-chip', t('library.cov.chip', { subject: c.subject, grade: c.grade, n: c.points }));
        a.href = tabHref('coverage', token, { subject: c.subject, grade: c.grade });
        a.dataset.subject = c.subject;
        a.dataset.grade = c.grade;
        if (c.subject === query.subject && c.grade === query.grade) a.setAttribute('aria-current', 'true');
        a.addEventListener('click', (e) => {
          e.preventDefault();
          choose(c.subject, c.grade);
        });
        return a;
      }),
    );
  }

  function choose(subject: string, grade: string) {
    query = { subject, grade };
    ui.subject.value = subject;
    ui.grade.value = grade;
    writeUrl();
    renderCurricula();
    void load();
  }

  async function loadCurricula(): Promise<void> {
    try {
      curricula = parseCurricula(await apiGet<unknown>('/curricula', token));
    } catch {
      return; // the boxes still take any subject and grade
    }
    const fill = (id: string, values: string[]) => byId<HTMLDataListElement>(id).replaceChildren(...values.map((v) => new Option(v)));
    fill('lib-subjects', mergeSuggestions([...new Set(curricula.map((c) => c.subject))], SUBJECTS));
    fill('lib-grades', mergeSuggestions([...new Set(curricula.map((c) => c.grade))], GRADES));
    renderCurricula();
    // Nothing chosen yet: show the first curriculum rather than an empty form.
    const first = curricula[0];
    if (first && coverageApiPath(query) === null) choose(first.subject, first.grade);
  }

  let inflight: AbortController | null = null;

  async function load(): Promise<void> {
    inflight?.abort();
    const path = coverageApiPath(query);
    if (!path) {
      data = null;
      loadError = null;
      render();
      return;
    }
    const ctl = new AbortController();
    inflight = ctl;
    loading = true;
    render();
    try {
      data = parseCoverage(await apiGet<unknown>(path, token, ctl.signal));
      loadError = null;
    } catch (err) {
      if (ctl.signal.aborted) return;
      loadError = err;
    }
    if (ctl !== inflight) return;
    inflight = null;
    loading = false;
    render();
  }

  function writeUrl() {
    const href = tabHref('coverage', token, { subject: query.subject, grade: query.grade });
    if (href !== location.pathname + location.search) history.pushState(null, '', href);
  }

  ui.form.addEventListener('submit', (e) => {
    e.preventDefault();
    query = { subject: ui.subject.value.trim(), grade: ui.grade.value.trim() };
    writeUrl();
    renderCurricula();
    void load();
  });
  ui.retry.addEventListener('click', () => void load());
  window.addEventListener('popstate', () => {
    const params = new URL(location.href).searchParams;
    if (params.get('tab') !== 'coverage') {
      location.reload();
      return;
    }
    query = coverageQueryFromParams(params);
    ui.subject.value = query.subject;
    ui.grade.value = query.grade;
    renderCurricula();
    void load();
  });
  onLangChange(render);

  void me.then((who) => {
    if (!who) {
      ui.signin.hidden = false;
      ui.signinLink.href = signInUrl();
      return;
    }
    ui.form.hidden = false;
    ui.subject.value = query.subject;
    ui.grade.value = query.grade;
    render();
    void load();
    void loadCurricula();
  });
}
