// The review buttons of a lesson or micro-lecture page: submit (the owner),
// approve and reject with a reason (reviewers, not their own), publish
// (reviewers). Each POSTs /api/v1/{lessons|clips}/{id}/{verb} and hands the
// object in its new state back to the page.

import { t, type MessageKey } from './i18n';
import { reviewActions, type Caller } from './lesson-model';
import { apiErrorText, h } from './portal';
import { apiSend } from './session';

export interface ReviewButtonsOptions {
  caller: Caller | null;
  ownerId: string;
  state: string;
  /** "/lessons/<id>" or "/clips/<id>". */
  base: string;
  /** Prefix of the buttons' data-testid: "lesson" gives lesson-submit, lesson-approve... */
  testPrefix: string;
  /** The object as the server answered, after a successful action. */
  onDone: (body: unknown, verb: string) => void;
  /** A failed action's message, already in the page's language. */
  onError: (message: string) => void;
}

const LABELS: Record<string, MessageKey> = {
  submit: 'lesson.submit',
  approve: 'lesson.approve',
  reject: 'lesson.reject',
  publish: 'lesson.publish',
};

/** Fills box with the buttons the caller may press now (nothing when none). */
export function renderReviewButtons(box: HTMLElement, o: ReviewButtonsOptions): void {
  const verbs = reviewActions(o.caller, o.ownerId, o.state);
  box.replaceChildren();
  box.hidden = verbs.length === 0;
  for (const verb of verbs) {
    const b = h('button', verb === 'reject' ? 'btn btn-danger' : 'btn btn-primary', t(LABELS[verb]!));
    b.type = 'button';
    b.dataset.testid = `${o.testPrefix}-${verb}`;
    b.dataset.verb = verb;
    b.addEventListener('click', () => {
      if (verb === 'reject') {
        askReason((reason) => act(box, o, verb, { reason }));
        return;
      }
      void act(box, o, verb, undefined);
    });
    box.append(b);
  }
}

async function act(box: HTMLElement, o: ReviewButtonsOptions, verb: string, body: unknown): Promise<void> {
  const buttons = box.querySelectorAll<HTMLButtonElement>('button');
  buttons.forEach((b) => (b.disabled = true));
  try {
    const res = await apiSend('POST', `${o.base}/${verb}`, body);
    o.onDone(res, verb);
  } catch (err) {
    o.onError(apiErrorText(err));
    buttons.forEach((b) => (b.disabled = false));
  }
}

let dialog: HTMLDialogElement | null = null;
let pending: ((reason: string) => void) | null = null;

/** Opens the page's one reject dialog; then calls done with a non-empty reason. */
function askReason(done: (reason: string) => void): void {
  if (!dialog) {
    dialog = h('dialog', 'dialog');
    dialog.dataset.testid = 'reject-dialog';
    const form = h('form', 'form');
    form.method = 'dialog';
    const title = h('h2', 'reject-title');
    const area = h('textarea');
    area.required = true;
    area.maxLength = 2000;
    area.rows = 3;
    area.dataset.testid = 'reject-reason';
    const field = h('label', 'field');
    field.append(title, area);
    const err = h('p', 'error-text');
    err.hidden = true;
    const cancel = h('button', 'btn reject-cancel');
    cancel.type = 'button';
    cancel.dataset.testid = 'reject-cancel';
    cancel.addEventListener('click', () => dialog!.close());
    const ok = h('button', 'btn btn-danger btn-solid reject-ok');
    ok.type = 'submit';
    ok.dataset.testid = 'reject-confirm';
    const actions = h('div', 'actions');
    actions.append(cancel, ok);
    form.append(field, err, actions);
    form.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const reason = area.value.trim();
      if (!reason) {
        err.hidden = false;
        return;
      }
      dialog!.close();
      const fn = pending;
      pending = null;
      fn?.(reason);
    });
    dialog.append(form);
    document.body.append(dialog);
  }
  pending = done;
  // Texts in the language of the moment: the page may have switched since the dialog was made.
  const text = (sel: string, key: MessageKey) => ((dialog!.querySelector(sel) as HTMLElement).textContent = t(key));
  text('.reject-title', 'lesson.rejectPrompt');
  text('.error-text', 'lesson.rejectNeedsReason');
  text('.reject-cancel', 'lesson.cancel');
  text('.reject-ok', 'lesson.reject');
  const area = dialog.querySelector('textarea')!;
  area.value = '';
  (dialog.querySelector('.error-text') as HTMLElement).hidden = true;
  dialog.showModal();
  area.focus();
}
