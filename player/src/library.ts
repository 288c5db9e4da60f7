// The library at /library: the teachers' and schools' catalogue in three tabs,
// each a real link (?tab=lessons|coverage|recordings) so the back button and
// shared links work:
//   - lessons (the default): search and filter the lessons the caller may see;
//   - coverage: which knowledge points of a subject and grade have a micro-lecture;
//   - recordings: every recording and clip asset with its processing state.
// Only the open tab's code runs, so a tab asks the server only for what it shows.

import './styles/base.css';
import './styles/home.css';
import './styles/library.css';
import { onLangChange, t } from './i18n';
import { startCoverage } from './library-coverage-view';
import { startLessons } from './library-lessons';
import { GRADES, LIBRARY_TABS, SUBJECTS, tabHref, tabOf } from './library-query';
import { startRecordings } from './library-recordings';
import { byId, initPortalPage } from './portal';

const url = new URL(location.href);
const token = url.searchParams.get('token');
const tab = tabOf(url.searchParams);

// Tabs: links carrying the token, the open one marked.
for (const name of LIBRARY_TABS) {
  const link = byId<HTMLAnchorElement>(`tab-${name}`);
  link.href = tabHref(name, token);
  if (name === tab) link.setAttribute('aria-current', 'page');
  byId<HTMLElement>(`panel-${name}`).hidden = name !== tab;
}

// Suggestions for the subject and grade boxes (any text is still allowed).
byId<HTMLDataListElement>('lib-subjects').replaceChildren(...SUBJECTS.map((s) => new Option(s)));
byId<HTMLDataListElement>('lib-grades').replaceChildren(...GRADES.map((g) => new Option(g)));

function setTitle() {
  const section = t(`library.tab.${tab}`);
  document.title = `${section} · ${t('library.lib.title')}`;
}
setTitle();
onLangChange(setTitle);

// The shared portal top bar (links by role, sign-in state, language switch); it
// carries the viewer's ?token= on its links and answers who is signed in.
const me = initPortalPage({ active: 'library' });

switch (tab) {
  case 'lessons':
    startLessons(token, me);
    break;
  case 'coverage':
    startCoverage(token, me);
    break;
  case 'recordings':
    startRecordings(token, me);
    break;
}
