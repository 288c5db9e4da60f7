// Chinese-first UI text with an English switch. Every page uses this module:
// elements carry data-i18n="key" (text) or data-i18n-title / data-i18n-aria
// (attributes) and applyI18n() fills them in for the current language.

export type Lang = 'zh' | 'en';

export const LANGS: readonly Lang[] = ['zh', 'en'];

/** localStorage key holding the viewer's choice. */
export const LANG_STORAGE_KEY = 'classcast.lang';

type Entry = Record<Lang, string>;

export const messages = {
  'app.name': { zh: 'classcast', en: 'classcast' },
  'lang.switch': { zh: 'English', en: '中文' },
  'lang.switch.title': { zh: 'Switch to English', en: '切换到中文' },

  'live.title': { zh: 'classcast 直播 · {path}', en: 'classcast Live · {path}' },
  'live.back': { zh: '全部直播', en: 'All classes' },
  'state.connecting': { zh: '连接中', en: 'Connecting' },
  'state.live': { zh: '直播中', en: 'LIVE' },
  'state.reconnecting': { zh: '重连中', en: 'Reconnecting' },
  'state.offline': { zh: '未开始', en: 'Not live' },
  'state.error': { zh: '错误', en: 'Error' },

  'msg.connecting': { zh: '正在连接直播…', en: 'Connecting to the class…' },
  'msg.reconnecting': { zh: '连接中断，正在重连…', en: 'Connection lost, reconnecting…' },
  'msg.offline': { zh: '直播未开始', en: 'Stream not live' },
  'msg.offline.hint': {
    zh: '开始上课后画面会自动出现',
    en: 'The picture appears by itself when the class starts',
  },
  'msg.unauthorized': { zh: '无权观看', en: 'Not authorized' },
  'msg.unauthorized.hint': {
    zh: '请使用学校提供的观看链接',
    en: 'Please use the viewing link your school gave you',
  },
  'msg.iceFailed': { zh: '无法连接到媒体服务器，正在重试…', en: 'Cannot reach the media server, retrying…' },
  'msg.iceFailed.hint': {
    zh: '学校网络可能屏蔽了 UDP，请联系管理员开放 UDP 8189 或启用 TURN',
    en: 'The school network may block UDP: ask the admin to open UDP 8189 or enable TURN',
  },
  'msg.network': { zh: '网络错误，{seconds} 秒后重试', en: 'Network error, retrying in {seconds} s' },
  'msg.badpath': { zh: '直播地址无效', en: 'Invalid stream address' },
  'msg.error': { zh: '出错了：{message}', en: 'Error: {message}' },
  'msg.unsupported': {
    zh: '此浏览器不支持 WebRTC，请使用最新版 Chrome、Edge、Firefox 或 Safari',
    en: 'This browser does not support WebRTC. Please use a recent Chrome, Edge, Firefox or Safari',
  },

  'ctl.unmute': { zh: '点击开启声音', en: 'Tap to unmute' },
  'ctl.mute': { zh: '静音', en: 'Mute' },
  'ctl.sound': { zh: '开启声音', en: 'Unmute' },
  'ctl.stats': { zh: '统计', en: 'Stats' },
  'ctl.stats.title': { zh: '显示/隐藏统计信息 (S)', en: 'Show/hide statistics (S)' },
  'ctl.fullscreen': { zh: '全屏', en: 'Fullscreen' },
  'ctl.fullscreen.exit': { zh: '退出全屏', en: 'Exit fullscreen' },

  'stats.heading': { zh: '连接统计', en: 'Connection stats' },
  'stats.resolution': { zh: '分辨率', en: 'Resolution' },
  'stats.fps': { zh: '帧率', en: 'Frame rate' },
  'stats.videoBitrate': { zh: '视频码率', en: 'Video bitrate' },
  'stats.audioBitrate': { zh: '音频码率', en: 'Audio bitrate' },
  'stats.loss': { zh: '丢包', en: 'Packets lost' },
  'stats.jitter': { zh: '抖动 视/音', en: 'Jitter v/a' },
  'stats.rtt': { zh: '往返时延', en: 'Round trip' },
  'stats.codecs': { zh: '编码', en: 'Codecs' },
  'stats.frames': { zh: '已解码帧', en: 'Frames decoded' },
  'stats.samples': { zh: '音频采样', en: 'Audio samples' },
  'stats.transport': { zh: '传输', en: 'Transport' },
  'stats.none': { zh: '—', en: '—' },

  'list.title': { zh: 'classcast 直播课堂', en: 'classcast live classes' },
  'list.heading': { zh: '正在直播', en: 'Live now' },
  'list.offlineHeading': { zh: '未开始', en: 'Not started' },
  'list.empty': { zh: '暂无直播', en: 'No live classes' },
  'list.empty.hint': {
    zh: '老师开始上课后会出现在这里，本页每 5 秒自动刷新',
    en: 'Classes appear here when the teacher starts; this page refreshes every 5 s',
  },
  'list.loadError': { zh: '无法加载直播列表：{message}', en: 'Could not load the class list: {message}' },
  'list.viewers': { zh: '{n} 人观看', en: '{n} watching' },
  'list.watch': { zh: '进入直播', en: 'Watch' },
  'list.updated': { zh: '更新于 {time}', en: 'Updated {time}' },
  'list.live': { zh: '直播中', en: 'LIVE' },
  'list.offline': { zh: '未开始', en: 'Not live' },
  'source.rtsp-publish': { zh: 'RTSP 推流', en: 'RTSP publish' },
  'source.rtsp-pull': { zh: 'RTSP 拉流', en: 'RTSP pull' },
  'source.relay': { zh: '中继', en: 'Relay' },

  'nav.live': { zh: '直播', en: 'Live' },
  'nav.library': { zh: '课程回放', en: 'Recordings' },

  'asset.state.recording': { zh: '录制中', en: 'Recording' },
  'asset.state.queued': { zh: '排队中', en: 'Queued' },
  'asset.state.processing': { zh: '处理中', en: 'Processing' },
  'asset.state.ready': { zh: '可观看', en: 'Ready' },
  'asset.state.failed': { zh: '失败', en: 'Failed' },
  'asset.step.probe': { zh: '分析', en: 'Probing' },
  'asset.step.ladder': { zh: '转码', en: 'Transcoding' },
  'asset.step.poster': { zh: '封面', en: 'Poster' },
  'asset.step.storyboard': { zh: '预览图', en: 'Storyboard' },
  'asset.step.upload': { zh: '上传', en: 'Uploading' },
  'asset.step.clip': { zh: '剪辑', en: 'Clipping' },
  'asset.kind.clip': { zh: '微课', en: 'Micro-lecture' },

  'library.title': { zh: 'classcast 课程回放', en: 'classcast recordings' },
  'library.heading': { zh: '课程回放', en: 'Recordings' },
  'library.filter': { zh: '按状态筛选', en: 'Filter by state' },
  'library.filter.all': { zh: '全部', en: 'All' },
  'library.empty': { zh: '暂无录像', en: 'No recordings yet' },
  'library.empty.hint': {
    zh: '直播课结束后，录像会出现在这里',
    en: 'Recordings appear here after a live class ends',
  },
  'library.empty.filtered': { zh: '没有“{state}”的录像', en: 'No recordings that are “{state}”' },
  'library.loadError': { zh: '无法加载录像列表：{message}', en: 'Could not load the recordings: {message}' },
  'library.failed': { zh: '失败原因：{reason}', en: 'Failed: {reason}' },
  'library.page': { zh: '第 {from}–{to} 条，共 {total} 条', en: '{from}–{to} of {total}' },
  'library.prev': { zh: '上一页', en: 'Previous' },
  'library.next': { zh: '下一页', en: 'Next' },

  'watch.title': { zh: 'classcast 回放 · {name}', en: 'classcast recording · {name}' },
  'watch.back': { zh: '全部录像', en: 'All recordings' },
  'watch.loading': { zh: '正在加载…', en: 'Loading…' },
  'watch.recording': { zh: '正在录制，下课后即可回放', en: 'Still recording: playback opens after the class ends' },
  'watch.queued': { zh: '排队等待处理…', en: 'Waiting to be processed…' },
  'watch.processing': { zh: '正在处理 {percent}%', en: 'Processing {percent}%' },
  'watch.pending.hint': {
    zh: '处理完成后本页会自动开始播放',
    en: 'This page starts playing by itself when it is ready',
  },
  'watch.failed': { zh: '处理失败：{reason}', en: 'Processing failed: {reason}' },
  'watch.failed.unknown': { zh: '处理失败', en: 'Processing failed' },
  'watch.badId': { zh: '录像地址无效', en: 'Invalid recording address' },
  'watch.unsupported': {
    zh: '此浏览器无法播放录像，请使用最新版 Chrome、Edge、Firefox 或 Safari',
    en: 'This browser cannot play the recording. Please use a recent Chrome, Edge, Firefox or Safari',
  },
  'watch.playbackError': { zh: '播放出错：{message}', en: 'Playback error: {message}' },
  'watch.resumed': { zh: '已从 {time} 继续播放', en: 'Resumed at {time}' },
  'watch.restart': { zh: '从头播放', en: 'Start over' },
  'watch.audioOnly': { zh: '仅音频播放中', en: 'Playing audio only' },
  'watch.meta.created': { zh: '录制于 {time}', en: 'Recorded {time}' },
  'watch.meta.duration': { zh: '时长 {duration}', en: 'Duration {duration}' },

  'ctl.play': { zh: '播放', en: 'Play' },
  'ctl.pause': { zh: '暂停', en: 'Pause' },
  'ctl.seek': { zh: '播放进度', en: 'Seek' },
  'ctl.speed': { zh: '倍速', en: 'Speed' },
  'ctl.quality': { zh: '清晰度', en: 'Quality' },
  'quality.auto': { zh: '自动', en: 'Auto' },
  'quality.autoCurrent': { zh: '自动 ({name})', en: 'Auto ({name})' },
  'quality.audio': { zh: '仅音频', en: 'Audio only' },
} satisfies Record<string, Entry>;

export type MessageKey = keyof typeof messages;

export type Params = Record<string, string | number>;

/**
 * Looks key up in dict for lang: falls back to Chinese, then to the key itself,
 * and replaces {name} placeholders with params. Pure, for tests and for pages.
 */
export function lookup(
  dict: Record<string, Partial<Entry>>,
  key: string,
  lang: Lang,
  params?: Params,
): string {
  const entry = dict[key];
  const text = entry?.[lang] ?? entry?.zh ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole,
  );
}

/** Parses a stored or requested language; anything unknown means Chinese. */
export function parseLang(value: string | null | undefined): Lang {
  return value === 'en' ? 'en' : 'zh';
}

function storage(): Storage | null {
  try {
    return typeof localStorage === 'undefined' ? null : localStorage;
  } catch {
    return null; // storage disabled (privacy mode, sandboxed iframe)
  }
}

let current: Lang = parseLang(storage()?.getItem(LANG_STORAGE_KEY));
const listeners = new Set<(lang: Lang) => void>();

/** The language in use: the stored choice, Chinese by default. */
export function getLang(): Lang {
  return current;
}

/** Switches language, remembers it, and tells every listener. */
export function setLang(lang: Lang): void {
  current = lang;
  try {
    storage()?.setItem(LANG_STORAGE_KEY, lang);
  } catch {
    // quota or privacy mode: the switch still works for this page
  }
  for (const fn of listeners) fn(lang);
}

/** Calls fn after every language switch; returns a function that stops it. */
export function onLangChange(fn: (lang: Lang) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

/** Text for key in the current language. */
export function t(key: MessageKey, params?: Params): string {
  return lookup(messages, key, current, params);
}

/** Fills every data-i18n* element under root and sets <html lang>. */
export function applyI18n(root: ParentNode = document): void {
  document.documentElement.lang = current === 'zh' ? 'zh-CN' : 'en';
  root.querySelectorAll<HTMLElement>('[data-i18n]').forEach((el) => {
    el.textContent = t(el.dataset.i18n as MessageKey);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-title]').forEach((el) => {
    el.title = t(el.dataset.i18nTitle as MessageKey);
  });
  root.querySelectorAll<HTMLElement>('[data-i18n-aria]').forEach((el) => {
    el.setAttribute('aria-label', t(el.dataset.i18nAria as MessageKey));
  });
}

/** Wires a button that toggles zh/en and re-renders the page through applyI18n and onLangChange. */
export function bindLangToggle(button: HTMLElement): void {
  button.addEventListener('click', () => setLang(current === 'zh' ? 'en' : 'zh'));
  onLangChange(() => applyI18n());
  applyI18n();
}
