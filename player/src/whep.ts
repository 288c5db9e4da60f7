// A small WHEP client (WebRTC-HTTP Egress Protocol, the playback twin of WHIP,
// RFC 9725): POST an SDP offer, get 201 + SDP answer + Location, DELETE the
// Location to leave. ICE candidates are gathered before the POST (no trickle),
// so one round trip sets the session up.

/** Why a WHEP attempt failed, which decides what the page shows and whether it retries. */
export type WhepErrorKind =
  | 'not-live' // 404: nothing is publishing on this path
  | 'unauthorized' // 401/403: retrying will not help
  | 'bad-request' // 400: the server said why, in its JSON error
  | 'server' // 5xx, unexpected status, or an answer we could not apply
  | 'network'; // fetch itself failed: offline, DNS, connection refused

export class WhepError extends Error {
  override readonly name = 'WhepError';
  constructor(
    readonly kind: WhepErrorKind,
    message: string,
    /** HTTP status, 0 when there was no response. */
    readonly status = 0,
    /** The server's error code from {"error":{"code"}}, when it sent one. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Builds the error for a failed WHEP response; body is the response text. */
export function errorFromResponse(status: number, body: string): WhepError {
  let code: string | undefined;
  let message = '';
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (typeof parsed?.error?.code === 'string') code = parsed.error.code;
    if (typeof parsed?.error?.message === 'string') message = parsed.error.message;
  } catch {
    message = body.trim().slice(0, 200);
  }
  if (!message) message = `HTTP ${status}`;
  if (status === 404) return new WhepError('not-live', message, status, code);
  if (status === 401 || status === 403) return new WhepError('unauthorized', message, status, code);
  if (status === 400) return new WhepError('bad-request', message, status, code);
  return new WhepError('server', message, status, code);
}

/** Resolves the Location header of a 201 against the URL the offer was POSTed to. */
export function resolveResourceUrl(location: string, postUrl: string): string {
  return new URL(location, postUrl).href;
}

/**
 * Reads the ICE servers a WHEP/WHIP endpoint advertises in Link headers
 * (RFC 9725 section 4.6), e.g.
 *   <turn:edge.example:3478?transport=tcp>; rel="ice-server"; username="u"; credential="p"
 * Links with another rel are ignored.
 */
export function parseIceServerLinks(header: string | null): RTCIceServer[] {
  if (!header) return [];
  const servers: RTCIceServer[] = [];
  for (const link of header.matchAll(/<([^>]*)>([^,]*)/g)) {
    const params: Record<string, string> = {};
    for (const p of link[2]!.matchAll(/;\s*([\w-]+)\s*=\s*(?:"([^"]*)"|([^;\s]*))/g)) {
      params[p[1]!.toLowerCase()] = p[2] ?? p[3] ?? '';
    }
    if (!params.rel?.split(/\s+/).includes('ice-server')) continue;
    const server: RTCIceServer = { urls: link[1]! };
    if (params.username !== undefined) server.username = params.username;
    if (params.credential !== undefined) server.credential = params.credential;
    servers.push(server);
  }
  return servers;
}

export interface WhepOptions {
  /** WHEP endpoint, absolute or relative to the page, e.g. "/whep/school-a/room-101". */
  endpoint: string;
  /** Sent as "Authorization: Bearer <token>" on POST and DELETE. */
  token?: string | null;
  iceServers?: RTCIceServer[];
  /** How long to wait for ICE gathering before sending what we have. Default 1000 ms. */
  gatherTimeoutMs?: number;
  /** Aborting cancels the attempt and releases everything it made. */
  signal?: AbortSignal;
  /** Called for each remote track, before the answer is applied completely. */
  onTrack?: (event: RTCTrackEvent) => void;
}

/** One joined WHEP session. close() ends it; both close methods are safe to call again. */
export class WhepSession {
  private closed = false;

  constructor(
    readonly pc: RTCPeerConnection,
    /** The session resource from Location, or null if the server sent none. */
    readonly resourceUrl: string | null,
    private readonly token: string | null,
    /**
     * ICE servers (TURN) the endpoint advertised in Link headers. They come with
     * the answer, too late for this session's candidates: pass them to the next
     * whepConnect, which is what a rejoin after an ICE failure does.
     */
    readonly iceServers: RTCIceServer[] = [],
  ) {}

  /** Leaves: closes the peer connection and DELETEs the session resource (best effort). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // DELETE first: once the peer connection closes, the server ends the session
    // by itself and the DELETE would find nothing (a 404 in the console).
    // No DELETE either when the server already closed DTLS: it ended the session.
    const serverClosed = this.pc.getReceivers()[0]?.transport?.state === 'closed';
    try {
      if (this.resourceUrl && !serverClosed) {
        await fetch(this.resourceUrl, { method: 'DELETE', headers: authHeaders(this.token) });
      }
    } catch {
      // the server ends sessions whose peer went away by itself
    } finally {
      this.pc.close();
    }
  }

  /** Like close(), for pagehide: the DELETE uses keepalive so it survives the page. */
  closeOnUnload(): void {
    if (this.closed) return;
    this.closed = true;
    this.pc.close();
    if (!this.resourceUrl) return;
    fetch(this.resourceUrl, {
      method: 'DELETE',
      headers: authHeaders(this.token),
      keepalive: true,
    }).catch(() => {});
  }
}

function authHeaders(token: string | null | undefined): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

function waitForIceGathering(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', onState);
      resolve();
    };
    const onState = () => {
      if (pc.iceGatheringState === 'complete') done();
    };
    const timer = setTimeout(done, timeoutMs);
    pc.addEventListener('icegatheringstatechange', onState);
  });
}

/**
 * Joins a stream: receive-only video and audio, offer after ICE gathering,
 * POST, apply the answer. Throws WhepError on failure; the caller decides
 * whether to retry from its kind.
 */
export async function whepConnect(opts: WhepOptions): Promise<WhepSession> {
  const postUrl = new URL(opts.endpoint, document.baseURI).href;
  const token = opts.token ?? null;
  const pc = new RTCPeerConnection({ iceServers: opts.iceServers ?? [], bundlePolicy: 'max-bundle' });
  let session: WhepSession | null = null;
  const abort = () => {
    if (session) void session.close();
    else pc.close();
  };
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    if (opts.onTrack) pc.addEventListener('track', opts.onTrack);
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    await pc.setLocalDescription(await pc.createOffer());
    await waitForIceGathering(pc, opts.gatherTimeoutMs ?? 1000);
    opts.signal?.throwIfAborted();

    let res: Response;
    try {
      res = await fetch(postUrl, {
        method: 'POST',
        headers: { 'Content-Type': 'application/sdp', ...authHeaders(token) },
        body: pc.localDescription!.sdp,
        signal: opts.signal ?? null,
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      throw new WhepError('network', err instanceof Error ? err.message : String(err));
    }
    const body = await res.text();
    if (res.status !== 201 && res.status !== 200) throw errorFromResponse(res.status, body);

    const location = res.headers.get('Location');
    session = new WhepSession(
      pc,
      location ? resolveResourceUrl(location, postUrl) : null,
      token,
      parseIceServerLinks(res.headers.get('Link')),
    );
    opts.signal?.throwIfAborted();
    try {
      await pc.setRemoteDescription({ type: 'answer', sdp: body });
    } catch (err) {
      throw new WhepError('server', `bad SDP answer: ${err instanceof Error ? err.message : err}`, res.status);
    }
    return session;
  } catch (err) {
    opts.signal?.removeEventListener('abort', abort);
    abort();
    throw err;
  }
}
