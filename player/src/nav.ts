// The page links in the top bar (<a data-nav>): they carry the viewer's ?token=
// along, like every link between pages.

/** Adds token to every a[data-nav] href; nothing to do without one. */
export function bindNav(token: string | null, root: ParentNode = document): void {
  if (!token) return;
  root.querySelectorAll<HTMLAnchorElement>('a[data-nav]').forEach((a) => {
    const url = new URL(a.getAttribute('href') ?? '/', 'http://localhost');
    url.searchParams.set('token', token);
    a.setAttribute('href', url.pathname + url.search);
  });
}
