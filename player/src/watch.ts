// The recording page, served for every /watch/<id> URL: the shared VOD player
// (vodplayer.ts) for the asset in the URL, with its title and details under it.

import './styles/base.css';
import { assetIdFromUrl, assetName, assetStateLabel, isSettled, libraryPageUrl, type Asset } from './assets';
import { formatDateTime, formatDuration } from './format';
import { bindLangToggle, getLang, onLangChange, t } from './i18n';
import { makeLessonErrorText, makeLessonOf, offersMakeLesson } from './make-lesson';
import { bindNav } from './nav';
import { currentUser, type User } from './session';
import { mountVodPlayer } from './vodplayer';

export type { VodDebug, VodLevel, VodState } from './vodplayer';

function $<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`watch.html lacks #${id}`);
  return el as T;
}

const ui = {
  root: $<HTMLDivElement>('player-root'),
  title: $<HTMLHeadingElement>('title'),
  meta: $<HTMLParagraphElement>('meta'),
  back: $<HTMLAnchorElement>('back'),
  makeBox: $<HTMLParagraphElement>('make-lesson-box'),
  make: $<HTMLButtonElement>('make-lesson'),
  makeError: $<HTMLSpanElement>('make-lesson-error'),
  langToggle: $<HTMLButtonElement>('lang-toggle'),
};

const pageUrl = new URL(location.href);
const token = pageUrl.searchParams.get('token');
const assetId = assetIdFromUrl(pageUrl);
let asset: Asset | null = null;
// Teachers get 做成课程 under a class recording; the page works the same without.
let caller: User | null = null;
currentUser()
  .then((m) => {
    caller = m?.user ?? null;
    renderInfo();
  })
  .catch(() => {});

const player = mountVodPlayer(ui.root, assetId, {
  token,
  // A link-visibility classroom's recordings open with the classroom's share link token.
  share: pageUrl.searchParams.get('share'),
  onAsset: (a) => {
    asset = a;
    renderInfo();
  },
  onDuration: () => renderInfo(),
});

function renderInfo() {
  const lang = getLang();
  const name = asset ? assetName(asset) : assetId ?? '';
  ui.title.textContent = name;
  document.title = t('watch.title', { name: name || '—' });
  const parts: string[] = [];
  if (asset) {
    const created = formatDateTime(asset.started_at || asset.created_at, lang);
    if (created) parts.push(t('watch.meta.created', { time: created }));
    const duration = player.debug.duration || asset.duration_seconds;
    if (duration > 0) parts.push(t('watch.meta.duration', { duration: formatDuration(duration) }));
    if (asset.title && asset.stream_path) parts.push(asset.stream_path);
    if (asset.kind === 'clip') parts.push(t('asset.kind.clip'));
    if (!isSettled(asset.state)) parts.push(assetStateLabel(asset.state, lang));
  }
  ui.meta.textContent = parts.join(' · ');
  ui.makeBox.hidden = !(asset && offersMakeLesson(caller, asset));
}

ui.make.addEventListener('click', () => {
  if (!asset) return;
  ui.make.disabled = true;
  ui.makeError.hidden = true;
  makeLessonOf(asset)
    .then((url) => location.assign(url))
    .catch((err: unknown) => {
      ui.make.disabled = false;
      ui.makeError.textContent = makeLessonErrorText(err);
      ui.makeError.hidden = false;
    });
});

ui.back.href = libraryPageUrl(token);
bindLangToggle(ui.langToggle);
bindNav(token);
onLangChange(renderInfo);
renderInfo();
