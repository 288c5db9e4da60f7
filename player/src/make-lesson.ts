// 做成课程: a class recording becomes a draft lesson of the signed-in teacher's, on
// whose page they tag it, cut micro-lectures and submit it. The server decides who may
// (a classroom's recordings: its school's teachers) and says why not. Used by the
// library's recordings tab and the recording page.

import { ApiError } from './api';
import { type Asset, assetName } from './assets';
import { t } from './i18n';
import { parseLesson } from './lesson-model';
import { apiErrorText } from './portal';
import { apiSend, type User } from './session';

/** Whether the caller is offered 做成课程 on asset a (the server has the last word). */
export function offersMakeLesson(caller: User | null, a: Asset): boolean {
  return a.kind === 'recording' && a.state === 'ready' && (caller?.role === 'teacher' || caller?.role === 'admin');
}

/** Makes the lesson and returns its page's URL. */
export async function makeLessonOf(a: Asset): Promise<string> {
  const l = parseLesson(await apiSend<unknown>('POST', '/lessons', { title: assetName(a), asset_id: a.id }));
  return l ? `/lessons/${encodeURIComponent(l.id)}` : '/me';
}

/** The refusal or failure for people, in the page's language where we know the reason. */
export function makeLessonErrorText(err: unknown): string {
  if (err instanceof ApiError && err.status === 403 && err.message.includes("classroom's school")) return t('library.rec.makeLessonForbidden');
  return t('library.rec.makeLessonError', { message: apiErrorText(err) });
}
