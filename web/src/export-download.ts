import { ApiError, SIGNED_OUT_EVENT } from './api.ts';

/** The file name a Content-Disposition header gives (`filename*=` first), else `fallback`. */
function fileNameOf(disposition: string | null, fallback: string): string {
  if (!disposition) return fallback;
  const extended = /filename\*=(?:UTF-8'')?([^;]+)/i.exec(disposition);
  if (extended?.[1]) {
    try {
      return decodeURIComponent(extended[1].trim().replace(/^"|"$/g, ''));
    } catch {
      // Falls through to the plain form.
    }
  }
  const plain = /filename="?([^";]+)"?/i.exec(disposition);
  return plain?.[1] ?? fallback;
}

/**
 * Downloads an export the server streams (`GET`) and saves it under the server's file name. The
 * request is made here rather than by a plain link so that a refusal (a 400 naming the bad
 * parameter, a 403, a 404) is shown in words next to the form instead of being saved as a file.
 * Meant for exports small enough to download at once; large ones go through the export queue.
 * Returns the saved file's name and size.
 */
export async function downloadExport(
  path: string,
  fallbackName: string,
): Promise<{ name: string; size: number }> {
  let response: Response;
  try {
    response = await fetch(path, {
      credentials: 'same-origin',
      headers: { 'x-requested-with': 'XMLHttpRequest' },
    });
  } catch {
    throw new ApiError(0, 'The server cannot be reached: check the network connection and try again.', null);
  }
  if (!response.ok) {
    if (response.status === 401) window.dispatchEvent(new Event(SIGNED_OUT_EVENT));
    const type = response.headers.get('content-type') ?? '';
    const body: unknown = type.includes('json')
      ? await response.json().catch(() => null)
      : await response.text().catch(() => '');
    const message =
      body && typeof body === 'object' && typeof (body as { message?: unknown }).message === 'string'
        ? (body as { message: string }).message
        : typeof body === 'string' && body.length > 0 && body.length < 300
          ? body
          : `${response.status} ${response.statusText}`;
    throw new ApiError(response.status, message, body);
  }
  const blob = await response.blob();
  const name = fileNameOf(response.headers.get('content-disposition'), fallbackName);
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, size: blob.size };
}

/** `/api/x` + the chosen format and compression as DHIS2's path suffixes (`.csv.zip`, `.json.gz`). */
export function exportPath(base: string, format: string, compression: string): string {
  return `${base}.${format}${compression === 'gzip' ? '.gz' : compression === 'zip' ? '.zip' : ''}`;
}

/** A query string from the filled-in fields only (empty and undefined values left out). */
export function queryOf(params: Record<string, string | undefined>): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  return query.toString();
}
