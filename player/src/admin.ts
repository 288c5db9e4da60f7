// The admin page at /admin (admins): schools, classrooms (with their RTSP publish
// URL, shown once when a key is made), users (role, school, disable, password
// reset) and the audit log, each a tab whose name is in the URL's #hash. The
// queue UI (/admin/queues/) is a link away.

import { ApiError } from './api';
import { formatDateTime } from './format';
import { getLang, onLangChange, t, type MessageKey } from './i18n';
import {
  apiErrorText,
  auditDetailText,
  auditQuery,
  badge,
  byId,
  DEFAULT_RTSP_PORT,
  h,
  initPortalPage,
  pageQuery,
  pageRange,
  readablePassword,
  roleLabel,
  rtspPublishUrl,
  visibilityLabel,
} from './portal';
import { apiFetch, apiSend, type Me, type User } from './session';

const PAGE = 50;
const TABS = ['schools', 'classrooms', 'users', 'audit'] as const;
type Tab = (typeof TABS)[number];
const ROLES = ['teacher', 'reviewer', 'viewer', 'admin'];
const VISIBILITIES = ['school', 'district', 'public', 'link'];

interface School {
  id: string;
  name: string;
  district: string;
  created_at: string;
}

interface Classroom {
  id: string;
  school_id: string;
  name: string;
  stream_path: string;
  publish_user: string;
  publish_key?: string;
  /** Not sent by the server today; used when it is. */
  publish_url?: string;
  visibility: string;
  /** Set when visibility is link: the secret of the share link. */
  share_token?: string;
  watch_url: string;
}

interface AdminUser extends User {
  created_at?: string;
  last_login_at?: string | null;
}

interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  target: string;
  detail: unknown;
  remote: string;
}

const ui = {
  error: byId<HTMLParagraphElement>('admin-error'),
  status: byId<HTMLParagraphElement>('admin-status'),
  schoolForm: byId<HTMLFormElement>('school-form'),
  schoolName: byId<HTMLInputElement>('school-name'),
  schoolDistrict: byId<HTMLInputElement>('school-district'),
  schoolRows: byId<HTMLTableSectionElement>('school-rows'),
  classroomForm: byId<HTMLFormElement>('classroom-form'),
  classroomSchool: byId<HTMLSelectElement>('classroom-school'),
  classroomName: byId<HTMLInputElement>('classroom-name'),
  classroomPath: byId<HTMLInputElement>('classroom-path'),
  classroomVisibility: byId<HTMLSelectElement>('classroom-visibility'),
  classroomUser: byId<HTMLInputElement>('classroom-user'),
  classroomRows: byId<HTMLTableSectionElement>('classroom-rows'),
  keybox: byId<HTMLDivElement>('keybox'),
  keyboxWhat: byId<HTMLParagraphElement>('keybox-what'),
  publishUrl: byId<HTMLParagraphElement>('publish-url'),
  copyUrl: byId<HTMLButtonElement>('copy-url'),
  keyboxClose: byId<HTMLButtonElement>('keybox-close'),
  userForm: byId<HTMLFormElement>('user-form'),
  userUsername: byId<HTMLInputElement>('user-username'),
  userDisplay: byId<HTMLInputElement>('user-display'),
  userRole: byId<HTMLSelectElement>('user-role'),
  userSchool: byId<HTMLSelectElement>('user-school'),
  userPassword: byId<HTMLInputElement>('user-password'),
  userSecret: byId<HTMLParagraphElement>('user-secret'),
  userRows: byId<HTMLTableSectionElement>('user-rows'),
  auditForm: byId<HTMLFormElement>('audit-form'),
  auditActor: byId<HTMLInputElement>('audit-actor'),
  auditAction: byId<HTMLInputElement>('audit-action'),
  auditRows: byId<HTMLTableSectionElement>('audit-rows'),
  dialog: byId<HTMLDialogElement>('edit-dialog'),
  dialogForm: byId<HTMLFormElement>('edit-form'),
  dialogTitle: byId<HTMLHeadingElement>('edit-h'),
  dialogWhat: byId<HTMLParagraphElement>('edit-what'),
  dialogFields: byId<HTMLDivElement>('edit-fields'),
  dialogError: byId<HTMLParagraphElement>('edit-error'),
  dialogCancel: byId<HTMLButtonElement>('edit-cancel'),
  dialogOk: byId<HTMLButtonElement>('edit-ok'),
};

let me: Me | null = null;
let tab: Tab = 'schools';
/** Every school (up to 500), for the selects and to name a school by its id. */
let allSchools: School[] = [];
const state = {
  schools: { offset: 0, total: 0, rows: [] as School[] },
  classrooms: { offset: 0, total: 0, rows: [] as Classroom[] },
  users: { offset: 0, total: 0, rows: [] as AdminUser[] },
  audit: { offset: 0, total: 0, rows: [] as AuditEntry[] },
};

function say(text: string): void {
  ui.status.textContent = text;
  if (text) ui.error.textContent = '';
}

function oops(err: unknown): void {
  ui.error.textContent = apiErrorText(err);
  ui.status.textContent = '';
}

function schoolName(id: string): string {
  if (!id) return t('portal.admin.noSchool');
  return allSchools.find((s) => s.id === id)?.name ?? id;
}

function td(text: string, label?: MessageKey, cls?: string): HTMLTableCellElement {
  const c = h('td', cls, text);
  if (label) c.dataset.label = t(label);
  return c;
}

function smallButton(label: string, testid: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = h('button', `btn btn-small ${cls}`, label);
  b.type = 'button';
  b.dataset.testid = testid;
  b.addEventListener('click', onClick);
  return b;
}

function select(values: string[], current: string, label: (v: string) => string, testid: string, aria: string): HTMLSelectElement {
  const s = h('select', 'input');
  s.dataset.testid = testid;
  s.setAttribute('aria-label', aria);
  for (const v of values) {
    const o = h('option', undefined, label(v));
    o.value = v;
    o.selected = v === current;
    s.append(o);
  }
  return s;
}

function fillSchoolSelect(sel: HTMLSelectElement, withNone: boolean): void {
  const keep = sel.value;
  sel.replaceChildren();
  if (withNone) {
    const o = h('option', undefined, t('portal.admin.noSchool'));
    o.value = '';
    sel.append(o);
  }
  for (const s of allSchools) {
    const o = h('option', undefined, s.district ? `${s.name}（${s.district}）` : s.name);
    o.value = s.id;
    sel.append(o);
  }
  if ([...sel.options].some((o) => o.value === keep)) sel.value = keep;
}

/** The pager under a table: previous, "1–50 of 120", next. */
function renderPager(name: Tab, onPage: (offset: number) => void): void {
  const nav = document.querySelector<HTMLElement>(`nav[data-pager="${name}"]`);
  if (!nav) return;
  const s = state[name];
  nav.hidden = s.total <= PAGE && s.offset === 0;
  const prev = smallButton(t('portal.prev'), `admin-${name}-prev`, () => onPage(Math.max(0, s.offset - PAGE)));
  prev.disabled = s.offset === 0;
  const next = smallButton(t('portal.next'), `admin-${name}-next`, () => onPage(s.offset + PAGE));
  next.disabled = s.offset + s.rows.length >= s.total;
  const info = h('span', 'muted', s.rows.length > 0 ? t('portal.page', pageRange(s.offset, s.rows.length, s.total)) : '');
  nav.replaceChildren(prev, info, next);
}

// --- dialog: edit forms and confirmations

interface DialogField {
  name: string;
  label: MessageKey;
  value: string;
  required?: boolean;
  options?: { value: string; label: string }[];
  readOnly?: boolean;
  testid: string;
}

let dialogSubmit: ((values: Record<string, string>) => Promise<void>) | null = null;
let dialogOpener: HTMLElement | null = null;

/**
 * Opens the dialog with fields (none for a confirmation). onOk runs on submit; the
 * dialog closes when it resolves and shows the error when it rejects.
 */
function openDialog(
  title: string,
  what: string,
  fields: DialogField[],
  okLabel: string,
  danger: boolean,
  onOk: (values: Record<string, string>) => Promise<void>,
): void {
  dialogOpener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  ui.dialogTitle.textContent = title;
  ui.dialogWhat.textContent = what;
  ui.dialogError.textContent = '';
  ui.dialogOk.textContent = okLabel;
  ui.dialogOk.className = danger ? 'btn btn-danger btn-solid' : 'btn btn-primary';
  ui.dialogOk.disabled = false;
  ui.dialogFields.replaceChildren(
    ...fields.map((f) => {
      const label = h('label', 'field');
      label.append(h('span', undefined, t(f.label)));
      let input: HTMLInputElement | HTMLSelectElement;
      if (f.options) {
        input = h('select');
        for (const o of f.options) {
          const opt = h('option', undefined, o.label);
          opt.value = o.value;
          input.append(opt);
        }
      } else {
        input = h('input');
        input.type = 'text';
        input.spellcheck = false;
        input.autocomplete = 'off';
      }
      input.name = f.name;
      input.value = f.value;
      if (f.readOnly && input instanceof HTMLInputElement) {
        input.readOnly = true;
        input.addEventListener('focus', () => (input as HTMLInputElement).select());
      }
      input.required = !!f.required;
      input.dataset.testid = f.testid;
      label.append(input);
      return label;
    }),
  );
  dialogSubmit = onOk;
  ui.dialog.showModal();
  (ui.dialogFields.querySelector<HTMLElement>('input, select') ?? ui.dialogOk).focus();
}

ui.dialogCancel.addEventListener('click', () => ui.dialog.close());
ui.dialog.addEventListener('close', () => {
  dialogSubmit = null;
  if (dialogOpener?.isConnected) dialogOpener.focus();
});
ui.dialogForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const run = dialogSubmit;
  if (!run) return;
  const values: Record<string, string> = {};
  for (const el of ui.dialogFields.querySelectorAll<HTMLInputElement | HTMLSelectElement>('input, select')) {
    if (el.required && !el.value.trim()) {
      ui.dialogError.textContent = t('portal.admin.required');
      el.focus();
      return;
    }
    values[el.name] = el.value.trim();
  }
  ui.dialogOk.disabled = true;
  run(values)
    .then(() => ui.dialog.close())
    .catch((err: unknown) => {
      ui.dialogError.textContent = apiErrorText(err);
      ui.dialogOk.disabled = false;
    });
});

// --- schools

async function loadAllSchools(): Promise<void> {
  const body = await apiFetch<{ schools?: School[] }>(`/admin/schools${pageQuery(500, 0)}`);
  allSchools = (body.schools ?? []).sort((a, b) => a.name.localeCompare(b.name, 'zh'));
  fillSchoolSelect(ui.classroomSchool, false);
  fillSchoolSelect(ui.userSchool, true);
}

async function loadSchools(): Promise<void> {
  const s = state.schools;
  const body = await apiFetch<{ schools?: School[]; total?: number }>(`/admin/schools${pageQuery(PAGE, s.offset)}`);
  s.rows = body.schools ?? [];
  s.total = body.total ?? s.rows.length;
  renderSchools();
}

function renderSchools(): void {
  const lang = getLang();
  ui.schoolRows.replaceChildren(
    ...state.schools.rows.map((sc) => {
      const tr = h('tr');
      tr.dataset.id = sc.id;
      tr.dataset.testid = `admin-school-${sc.id}`;
      tr.dataset.name = sc.name;
      const actions = h('td');
      const wrap = h('div', 'row-actions');
      wrap.append(
        smallButton(t('portal.admin.edit'), `admin-school-edit-${sc.id}`, () =>
          openDialog(
            t('portal.admin.school.edit'),
            sc.name,
            [
              { name: 'name', label: 'portal.admin.school.name', value: sc.name, required: true, testid: 'admin-dialog-name' },
              { name: 'district', label: 'portal.admin.school.district', value: sc.district, testid: 'admin-dialog-district' },
            ],
            t('portal.save'),
            false,
            async (v) => {
              await apiSend('PATCH', `/admin/schools/${encodeURIComponent(sc.id)}`, { name: v.name, district: v.district });
              say(t('portal.admin.saved', { name: v.name ?? '' }));
              await Promise.all([loadSchools(), loadAllSchools()]);
            },
          ),
        ),
      );
      actions.append(wrap);
      tr.append(td(sc.name, 'portal.admin.school.name'), td(sc.district || '—', 'portal.admin.school.district'), td(formatDateTime(sc.created_at, lang), 'portal.admin.created', 'num'), actions);
      return tr;
    }),
  );
  if (state.schools.rows.length === 0) ui.schoolRows.append(emptyRow(4));
  renderPager('schools', (o) => {
    state.schools.offset = o;
    void loadSchools().catch(oops);
  });
}

function emptyRow(cols: number): HTMLTableRowElement {
  const tr = h('tr');
  const c = h('td', 'muted', t('portal.admin.empty'));
  c.colSpan = cols;
  tr.append(c);
  return tr;
}

ui.schoolForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = ui.schoolName.value.trim();
  if (!name) {
    ui.error.textContent = t('portal.admin.required');
    ui.schoolName.focus();
    return;
  }
  apiSend<{ school: School }>('POST', '/admin/schools', { name, district: ui.schoolDistrict.value.trim() })
    .then(async () => {
      ui.schoolForm.reset();
      say(t('portal.admin.created.msg', { name }));
      await Promise.all([loadSchools(), loadAllSchools()]);
    })
    .catch(oops);
});

// --- classrooms

function publishUrlOf(c: Classroom): string {
  if (c.publish_url) return c.publish_url;
  return rtspPublishUrl(location.hostname, DEFAULT_RTSP_PORT, c.publish_user, c.publish_key ?? '', c.stream_path);
}

/** The live page of a link-shared classroom, with the share token as its viewer token. */
function liveShareUrl(c: Classroom): string {
  const path = c.watch_url || `/live/${c.stream_path}`;
  return `${location.origin}${path}?token=${encodeURIComponent(c.share_token ?? '')}`;
}

/** Shows a classroom's publish URL with its new key: the only time the key is seen. */
function showKey(c: Classroom): void {
  if (!c.publish_key && !c.publish_url) return;
  ui.keybox.hidden = false;
  ui.keyboxWhat.textContent = `${c.name} · ${c.stream_path}${c.publish_url ? '' : ` · ${t('portal.admin.key.port', { port: DEFAULT_RTSP_PORT })}`}`;
  ui.publishUrl.textContent = publishUrlOf(c);
  ui.keybox.scrollIntoView({ block: 'nearest' });
  ui.copyUrl.focus();
}

ui.copyUrl.addEventListener('click', () => {
  const text = ui.publishUrl.textContent ?? '';
  void navigator.clipboard
    ?.writeText(text)
    .then(() => say(t('portal.admin.key.copied')))
    .catch(() => {
      // No clipboard (http, old browser): select the text for a manual copy.
      const r = document.createRange();
      r.selectNodeContents(ui.publishUrl);
      getSelection()?.removeAllRanges();
      getSelection()?.addRange(r);
    });
});
ui.keyboxClose.addEventListener('click', () => {
  ui.keybox.hidden = true;
  ui.publishUrl.textContent = '';
});

async function loadClassrooms(): Promise<void> {
  const s = state.classrooms;
  const body = await apiFetch<{ classrooms?: Classroom[]; total?: number }>(`/admin/classrooms${pageQuery(PAGE, s.offset)}`);
  s.rows = body.classrooms ?? [];
  s.total = body.total ?? s.rows.length;
  renderClassrooms();
}

function renderClassrooms(): void {
  const lang = getLang();
  ui.classroomRows.replaceChildren(
    ...state.classrooms.rows.map((c) => {
      const tr = h('tr');
      tr.dataset.id = c.id;
      tr.dataset.testid = `admin-classroom-${c.id}`;
      tr.dataset.path = c.stream_path;
      const pathCell = td('', 'portal.admin.classroom.path', 'mono');
      const a = h('a', undefined, c.stream_path);
      a.href = c.watch_url || `/live/${c.stream_path}`;
      pathCell.append(a);
      const visCell = td('', 'portal.admin.classroom.visibility');
      const vis = select(VISIBILITIES, c.visibility, (v) => visibilityLabel(v, lang), `admin-classroom-visibility-${c.id}`, t('portal.admin.classroom.visibility'));
      vis.addEventListener('change', () => {
        const before = c.visibility;
        const next = vis.value;
        c.visibility = next; // optimistic
        vis.disabled = true;
        apiSend<{ classroom: Classroom }>('PATCH', `/admin/classrooms/${encodeURIComponent(c.id)}`, { visibility: next })
          .then((res) => {
            // A link classroom gets its share token in the answer.
            Object.assign(c, res.classroom);
            say(t('portal.admin.saved', { name: c.name }));
            renderClassrooms();
          })
          .catch((err: unknown) => {
            c.visibility = before;
            vis.value = before;
            oops(err);
          })
          .finally(() => (vis.disabled = false));
      });
      visCell.append(vis);
      const actions = h('td');
      const wrap = h('div', 'row-actions');
      wrap.append(
        smallButton(t('portal.admin.edit'), `admin-classroom-edit-${c.id}`, () =>
          openDialog(
            t('portal.admin.classroom.edit'),
            c.name,
            [
              { name: 'name', label: 'portal.admin.classroom.name', value: c.name, required: true, testid: 'admin-dialog-name' },
              { name: 'stream_path', label: 'portal.admin.classroom.path', value: c.stream_path, required: true, testid: 'admin-dialog-path' },
              {
                name: 'school_id',
                label: 'portal.admin.classroom.school',
                value: c.school_id,
                options: allSchools.map((s) => ({ value: s.id, label: s.name })),
                testid: 'admin-dialog-school',
              },
            ],
            t('portal.save'),
            false,
            async (v) => {
              await apiSend('PATCH', `/admin/classrooms/${encodeURIComponent(c.id)}`, { name: v.name, stream_path: v.stream_path, school_id: v.school_id });
              say(t('portal.admin.saved', { name: v.name ?? '' }));
              await loadClassrooms();
            },
          ),
        ),
        ...(c.visibility === 'link' && c.share_token
          ? [
              smallButton(t('portal.admin.share'), `admin-classroom-share-${c.id}`, () =>
                openDialog(
                  t('portal.admin.share'),
                  t('portal.admin.shareHint', { name: c.name }),
                  [{ name: 'url', label: 'portal.admin.shareUrl', value: liveShareUrl(c), readOnly: true, testid: 'admin-dialog-share-url' }],
                  t('portal.admin.key.copy'),
                  false,
                  async (v) => {
                    await navigator.clipboard?.writeText(v.url ?? '').catch(() => undefined);
                    say(t('portal.admin.shareCopied'));
                  },
                ),
              ),
            ]
          : []),
        smallButton(t('portal.admin.key.rotate'), `admin-classroom-rotate-${c.id}`, () =>
          openDialog(t('portal.admin.key.rotate'), t('portal.admin.key.rotateConfirm', { name: c.name }), [], t('portal.admin.key.rotate'), true, async () => {
            const res = await apiSend<{ classroom: Classroom }>('PATCH', `/admin/classrooms/${encodeURIComponent(c.id)}`, { rotate_key: true });
            say(t('portal.admin.key.rotated', { name: c.name }));
            showKey(res.classroom);
          }),
        ),
        smallButton(
          t('portal.admin.delete'),
          `admin-classroom-delete-${c.id}`,
          () =>
            openDialog(t('portal.admin.classroom.delete'), t('portal.admin.classroom.deleteConfirm', { name: c.name, path: c.stream_path }), [], t('portal.admin.delete'), true, async () => {
              await apiSend('DELETE', `/admin/classrooms/${encodeURIComponent(c.id)}`);
              say(t('portal.admin.deleted', { name: c.name }));
              await loadClassrooms();
            }),
          'btn-danger',
        ),
      );
      actions.append(wrap);
      tr.append(
        td(c.name, 'portal.admin.classroom.name'),
        td(schoolName(c.school_id), 'portal.admin.classroom.school'),
        pathCell,
        visCell,
        td(c.publish_user, 'portal.admin.classroom.userShort', 'mono'),
        actions,
      );
      return tr;
    }),
  );
  if (state.classrooms.rows.length === 0) ui.classroomRows.append(emptyRow(6));
  renderPager('classrooms', (o) => {
    state.classrooms.offset = o;
    void loadClassrooms().catch(oops);
  });
}

ui.classroomForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const name = ui.classroomName.value.trim();
  const path = ui.classroomPath.value.trim();
  if (!ui.classroomSchool.value) {
    ui.error.textContent = t('portal.admin.classroom.needSchool');
    return;
  }
  if (!name || !path) {
    ui.error.textContent = t('portal.admin.required');
    (name ? ui.classroomPath : ui.classroomName).focus();
    return;
  }
  const body: Record<string, string> = { school_id: ui.classroomSchool.value, name, stream_path: path, visibility: ui.classroomVisibility.value };
  if (ui.classroomUser.value.trim()) body.publish_user = ui.classroomUser.value.trim();
  apiSend<{ classroom: Classroom }>('POST', '/admin/classrooms', body)
    .then(async (res) => {
      ui.classroomName.value = '';
      ui.classroomPath.value = '';
      ui.classroomUser.value = '';
      say(t('portal.admin.created.msg', { name }));
      showKey(res.classroom);
      await loadClassrooms();
    })
    .catch(oops);
});

// --- users

async function loadUsers(): Promise<void> {
  const s = state.users;
  const body = await apiFetch<{ users?: AdminUser[]; total?: number }>(`/admin/users${pageQuery(PAGE, s.offset)}`);
  s.rows = body.users ?? [];
  s.total = body.total ?? s.rows.length;
  renderUsers();
}

function patchUser(u: AdminUser, body: Record<string, unknown>): Promise<AdminUser> {
  return apiSend<{ user: AdminUser }>('PATCH', `/admin/users/${encodeURIComponent(u.id)}`, body).then((r) => r.user);
}

function showSecret(username: string, password: string): void {
  ui.userSecret.hidden = false;
  ui.userSecret.textContent = t('portal.admin.user.secret', { username, password });
}

function renderUsers(): void {
  const lang = getLang();
  ui.userRows.replaceChildren(
    ...state.users.rows.map((u) => {
      const tr = h('tr');
      tr.dataset.id = u.id;
      tr.dataset.testid = `admin-user-${u.username}`;
      tr.dataset.username = u.username;
      const self = me?.user.id === u.id;
      const roleCell = td('', 'portal.admin.user.role');
      const role = select(ROLES, u.role, (r) => roleLabel(r, lang), `admin-user-role-${u.username}`, t('portal.admin.user.role'));
      role.addEventListener('change', () => {
        const before = u.role;
        u.role = role.value; // optimistic
        role.disabled = true;
        patchUser(u, { role: role.value })
          .then(() => say(t('portal.admin.saved', { name: u.username })))
          .catch((err: unknown) => {
            u.role = before;
            role.value = before;
            oops(err);
          })
          .finally(() => (role.disabled = false));
      });
      roleCell.append(role);
      const statusCell = td('', 'portal.admin.user.status');
      const st = badge('state', u.disabled ? { label: t('portal.admin.user.disabled'), state: 'disabled' } : { label: t('portal.admin.user.enabled'), state: 'enabled' });
      st.dataset.testid = `admin-user-status-${u.username}`;
      statusCell.append(st);
      const actions = h('td');
      const wrap = h('div', 'row-actions');
      wrap.append(
        smallButton(t('portal.admin.edit'), `admin-user-edit-${u.username}`, () =>
          openDialog(
            t('portal.admin.user.edit'),
            u.username,
            [
              { name: 'display_name', label: 'portal.admin.user.display', value: u.display_name, testid: 'admin-dialog-display' },
              {
                name: 'school_id',
                label: 'portal.admin.user.school',
                value: u.school_id ?? '',
                options: [{ value: '', label: t('portal.admin.noSchool') }, ...allSchools.map((s) => ({ value: s.id, label: s.name }))],
                testid: 'admin-dialog-school',
              },
            ],
            t('portal.save'),
            false,
            async (v) => {
              await patchUser(u, { display_name: v.display_name, school_id: v.school_id });
              say(t('portal.admin.saved', { name: u.username }));
              await loadUsers();
            },
          ),
        ),
        smallButton(t('portal.admin.user.reset'), `admin-user-reset-${u.username}`, () =>
          openDialog(
            t('portal.admin.user.reset'),
            t('portal.admin.user.resetHint', { username: u.username }),
            [{ name: 'password', label: 'portal.admin.user.newPassword', value: readablePassword(12, (n) => crypto.getRandomValues(new Uint32Array(n))), required: true, testid: 'admin-dialog-password' }],
            t('portal.admin.user.reset'),
            false,
            async (v) => {
              await patchUser(u, { password: v.password });
              showSecret(u.username, v.password ?? '');
              say(t('portal.admin.saved', { name: u.username }));
            },
          ),
        ),
      );
      const toggle = smallButton(
        u.disabled ? t('portal.admin.user.enable') : t('portal.admin.user.disable'),
        `admin-user-toggle-${u.username}`,
        () => {
          const run = async () => {
            const updated = await patchUser(u, { disabled: !u.disabled });
            Object.assign(u, updated);
            say(t(u.disabled ? 'portal.admin.user.disabledMsg' : 'portal.admin.user.enabledMsg', { name: u.username }));
            renderUsers();
          };
          if (u.disabled) void run().catch(oops);
          else openDialog(t('portal.admin.user.disable'), t('portal.admin.user.disableConfirm', { username: u.username }), [], t('portal.admin.user.disable'), true, run);
        },
        u.disabled ? '' : 'btn-danger',
      );
      if (self) {
        toggle.disabled = true;
        toggle.title = t('portal.admin.user.self');
      }
      wrap.append(toggle);
      actions.append(wrap);
      tr.append(
        td(u.username, 'portal.admin.user.username', 'mono'),
        td(u.display_name, 'portal.admin.user.display'),
        roleCell,
        td(schoolName(u.school_id ?? ''), 'portal.admin.user.school'),
        statusCell,
        td(u.last_login_at ? formatDateTime(u.last_login_at, lang) : '—', 'portal.admin.user.lastLogin', 'num'),
        actions,
      );
      return tr;
    }),
  );
  if (state.users.rows.length === 0) ui.userRows.append(emptyRow(7));
  renderPager('users', (o) => {
    state.users.offset = o;
    void loadUsers().catch(oops);
  });
}

ui.userForm.addEventListener('submit', (e) => {
  e.preventDefault();
  const username = ui.userUsername.value.trim();
  if (!username) {
    ui.error.textContent = t('portal.admin.required');
    ui.userUsername.focus();
    return;
  }
  const password = ui.userPassword.value;
  if (password && [...password].length < 8) {
    ui.error.textContent = t('portal.me.password.short');
    ui.userPassword.focus();
    return;
  }
  const body: Record<string, string> = { username, display_name: ui.userDisplay.value.trim(), role: ui.userRole.value, school_id: ui.userSchool.value };
  if (password) body.password = password;
  apiSend<{ user: AdminUser; password?: string }>('POST', '/admin/users', body)
    .then(async (res) => {
      ui.userUsername.value = '';
      ui.userDisplay.value = '';
      ui.userPassword.value = '';
      say(t('portal.admin.created.msg', { name: username }));
      if (res.password) showSecret(username, res.password);
      else ui.userSecret.hidden = true;
      await loadUsers();
    })
    .catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'conflict') ui.error.textContent = t('portal.admin.user.taken', { username });
      else oops(err);
    });
});

// --- audit log

async function loadAudit(): Promise<void> {
  const s = state.audit;
  const body = await apiFetch<{ entries?: AuditEntry[]; total?: number }>(`/admin/audit${auditQuery(PAGE, s.offset, ui.auditActor.value, ui.auditAction.value)}`);
  s.rows = body.entries ?? [];
  s.total = body.total ?? s.rows.length;
  renderAudit();
}

function renderAudit(): void {
  const lang = getLang();
  ui.auditRows.replaceChildren(
    ...state.audit.rows.map((e) => {
      const tr = h('tr');
      tr.dataset.id = e.id;
      tr.append(
        td(formatDateTime(e.at, lang), 'portal.admin.audit.at', 'num'),
        td(e.actor || '—', 'portal.admin.audit.actor'),
        td(e.action, 'portal.admin.audit.actionShort', 'mono'),
        td(e.target, 'portal.admin.audit.target', 'mono'),
        td(auditDetailText(e.detail), 'portal.admin.audit.detail', 'detail'),
        td(e.remote, 'portal.admin.audit.remote', 'mono'),
      );
      return tr;
    }),
  );
  if (state.audit.rows.length === 0) ui.auditRows.append(emptyRow(6));
  renderPager('audit', (o) => {
    state.audit.offset = o;
    void loadAudit().catch(oops);
  });
}

ui.auditForm.addEventListener('submit', (e) => {
  e.preventDefault();
  state.audit.offset = 0;
  void loadAudit().catch(oops);
});

// --- tabs

const loaders: Record<Tab, () => Promise<void>> = { schools: loadSchools, classrooms: loadClassrooms, users: loadUsers, audit: loadAudit };

function tabButtons(): HTMLButtonElement[] {
  return [...document.querySelectorAll<HTMLButtonElement>('[role=tab]')];
}

function showTab(name: Tab, focus = false): void {
  tab = name;
  for (const b of tabButtons()) {
    const on = b.dataset.tab === name;
    b.setAttribute('aria-selected', String(on));
    b.tabIndex = on ? 0 : -1;
    if (on && focus) b.focus();
  }
  for (const t2 of TABS) byId(`panel-${t2}`).hidden = t2 !== name;
  if (location.hash !== `#${name}`) history.replaceState(null, '', `#${name}`);
  ui.error.textContent = '';
  ui.status.textContent = '';
  void loaders[name]().catch(oops);
}

for (const b of tabButtons()) {
  b.addEventListener('click', () => showTab(b.dataset.tab as Tab));
  // Arrow keys move between tabs (the WAI-ARIA tabs pattern).
  b.addEventListener('keydown', (e) => {
    const i = TABS.indexOf(tab);
    if (e.key === 'ArrowRight') showTab(TABS[(i + 1) % TABS.length]!, true);
    else if (e.key === 'ArrowLeft') showTab(TABS[(i + TABS.length - 1) % TABS.length]!, true);
    else return;
    e.preventDefault();
  });
}

function tabFromHash(): Tab {
  const hash = location.hash.slice(1);
  return (TABS as readonly string[]).includes(hash) ? (hash as Tab) : 'schools';
}

window.addEventListener('hashchange', () => showTab(tabFromHash()));

onLangChange(() => {
  fillSchoolSelect(ui.classroomSchool, false);
  fillSchoolSelect(ui.userSchool, true);
  ({ schools: renderSchools, classrooms: renderClassrooms, users: renderUsers, audit: renderAudit })[tab]();
});

void initPortalPage({ active: 'admin', roles: ['admin'], title: 'portal.admin.title' }).then(async (m) => {
  if (!m) return;
  me = m;
  try {
    await loadAllSchools();
  } catch (err) {
    oops(err);
  }
  showTab(tabFromHash());
});
