// @ts-check
/** A thin client for Ferry's HTTP API: same-origin requests with the session cookie. */

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} message
   * @param {unknown} body
   */
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

/**
 * @param {string} path
 * @param {RequestInit} [init]
 * @returns {Promise<any>}
 */
export async function api(path, init = {}) {
  // X-Requested-With: the server then leaves out `WWW-Authenticate`, which would pop up the
  // browser's own login dialog instead of ours.
  const headers = new Headers(init.headers);
  headers.set('x-requested-with', 'XMLHttpRequest');
  const response = await fetch(path, { credentials: 'same-origin', ...init, headers });
  const type = response.headers.get('content-type') ?? '';
  const body = type.includes('json') ? await response.json() : await response.text();
  // Import replies with conflicts come back as 409 with a full report; the caller shows them.
  if (!response.ok && !(response.status === 409 && body && typeof body === 'object' && 'response' in body)) {
    const message =
      body && typeof body === 'object' && 'message' in body ? String(body.message) : response.statusText;
    throw new ApiError(response.status, message, body);
  }
  return body;
}

/**
 * @param {string} path
 * @param {unknown} value
 */
export function postJson(path, value) {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(value),
  });
}
