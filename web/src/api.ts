/** A thin client for Ferry's HTTP API: same-origin requests with the session cookie. */

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;
  constructor(status: number, message: string, body: unknown) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function messageOf(body: unknown, fallback: string): string {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if (typeof record.message === 'string') return record.message;
  }
  return typeof body === 'string' && body.length > 0 && body.length < 300 ? body : fallback;
}

/** Sent on any 401: the session ended (expired, or signed out elsewhere); the app shows sign-in. */
export const SIGNED_OUT_EVENT = 'ferry:signed-out';

/** A JSON (or text) request; a refusal becomes an ApiError with the server's message in words. */
export async function api<T = unknown>(path: string, init: RequestInit = {}): Promise<T> {
  // X-Requested-With: the server then leaves out `WWW-Authenticate`, which would pop up the
  // browser's own login dialog instead of ours.
  const headers = new Headers(init.headers);
  headers.set('x-requested-with', 'XMLHttpRequest');
  let response: Response;
  try {
    response = await fetch(path, { credentials: 'same-origin', ...init, headers });
  } catch {
    throw new ApiError(0, 'The server cannot be reached: check the network connection and try again.', null);
  }
  const type = response.headers.get('content-type') ?? '';
  const body: unknown = type.includes('json') ? await response.json() : await response.text();
  // An import refused for its conflicts comes back as 409 with the whole report; the caller shows it.
  const isReport = response.status === 409 && body !== null && typeof body === 'object' && 'response' in body;
  if (!response.ok && !isReport) {
    if (response.status === 401) window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
    throw new ApiError(response.status, messageOf(body, `${response.status} ${response.statusText}`), body);
  }
  return body as T;
}

export function postJson<T = unknown>(path: string, value: unknown): Promise<T> {
  return api<T>(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(value),
  });
}

export interface UploadProgress {
  loaded: number;
  total: number;
}

/**
 * Uploads a file as the request body with progress, which fetch cannot report: XMLHttpRequest's
 * upload events can. The file is streamed by the browser, never read into memory here.
 */
export function upload<T = unknown>(
  path: string,
  file: File,
  contentType: string,
  onProgress: (progress: UploadProgress) => void,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open('POST', path);
    request.setRequestHeader('content-type', contentType);
    request.setRequestHeader('x-requested-with', 'XMLHttpRequest');
    request.setRequestHeader('x-file-name', encodeURIComponent(file.name));
    request.upload.onprogress = (event) =>
      onProgress({ loaded: event.loaded, total: event.total || file.size });
    request.onerror = () =>
      reject(
        new ApiError(0, 'The upload was interrupted: check the network connection and try again.', null),
      );
    request.onload = () => {
      let body: unknown = request.responseText;
      if ((request.getResponseHeader('content-type') ?? '').includes('json')) {
        try {
          body = JSON.parse(request.responseText);
        } catch {
          // Left as text: the message below says what came back.
        }
      }
      const isReport =
        request.status === 409 && body !== null && typeof body === 'object' && 'response' in body;
      if ((request.status >= 200 && request.status < 300) || isReport) resolve(body as T);
      else
        reject(
          new ApiError(request.status, messageOf(body, `${request.status} ${request.statusText}`), body),
        );
    };
    request.send(file);
  });
}

export interface Me {
  id: string;
  username: string;
  name?: string;
  displayName?: string;
  authorities: string[];
}

export interface JobRecord {
  id: string;
  number?: number;
  type: string;
  status: string;
  created: string;
  started?: string | null;
  finished?: string | null;
  userUid?: string | null;
  params?: Record<string, unknown>;
  progress?: {
    stage: string;
    processed: number;
    total?: number | null;
    rowsPerSecond?: number | null;
  } | null;
  summary?: unknown;
  error?: string | null;
}

export interface JobNotification {
  uid: string;
  time: string;
  level: string;
  message: string;
}

export interface JobDetails {
  job: JobRecord;
  notifications?: JobNotification[];
  inputFile?: { name: string; size?: number } | null;
}

/** The export queue's card, as the server's export queue service defines it. */
export type { ExportCard } from '../../src/services/jobs/export-queue-service.ts';
