import { FerryError } from '../errors.ts';

/** A part's headers are a few lines; more is not a form a browser or DHIS2's tools send. */
const MAX_PART_HEADER_BYTES = 16 * 1024;
/** Parts before the file (other form fields): a form field is small. */
const MAX_BYTES_BEFORE_FILE = 1024 * 1024;

/** The `boundary` of a `multipart/form-data` content type; undefined when it is not one. */
export function multipartBoundary(contentType: string | undefined): string | undefined {
  if (!contentType || !/^multipart\/form-data\s*(;|$)/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

/** What the part's headers said, filled in once the part is found. */
export interface MultipartFileInfo {
  fileName?: string;
  /** The part's own Content-Type header, when it has one. */
  contentType?: string;
  found: boolean;
}

/**
 * Streams the content of the form field `field` out of a `multipart/form-data` body, never
 * holding more than one chunk and a boundary's length in memory (DHIS2's App Management app and
 * `d2 app scripts deploy` post an app as the form field `file`). Stops at the end of that part;
 * a body without it, or malformed, is 400 `F1001`.
 */
export async function* multipartFilePart(
  source: AsyncIterable<Uint8Array>,
  boundary: string,
  field: string,
  info: MultipartFileInfo,
): AsyncIterable<Buffer> {
  // The first delimiter has no CRLF before it; start with one so that every delimiter looks alike.
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  let buffer: Buffer = Buffer.from('\r\n');
  let state: 'preamble' | 'after-delimiter' | 'headers' | 'skip' | 'file' = 'preamble';
  let consumedBeforeFile = 0;
  const malformed = (why: string) => new FerryError('F1001', [`multipart body: ${why}`]);

  for await (const chunk of source) {
    buffer = buffer.length === 0 ? Buffer.from(chunk) : Buffer.concat([buffer, chunk]);
    for (;;) {
      if (state === 'preamble' || state === 'skip') {
        const at = buffer.indexOf(delimiter);
        if (at === -1) {
          consumedBeforeFile += Math.max(0, buffer.length - delimiter.length);
          buffer = buffer.subarray(Math.max(0, buffer.length - delimiter.length));
          break;
        }
        consumedBeforeFile += at;
        buffer = buffer.subarray(at + delimiter.length);
        state = 'after-delimiter';
      } else if (state === 'after-delimiter') {
        if (buffer.length < 2) break;
        const next = buffer.subarray(0, 2).toString('latin1');
        if (next === '--') throw malformed(`no \`${field}\` part`);
        if (next !== '\r\n') throw malformed('a delimiter not followed by a line end');
        buffer = buffer.subarray(2);
        state = 'headers';
      } else if (state === 'headers') {
        const end = buffer.indexOf('\r\n\r\n');
        if (end === -1) {
          if (buffer.length > MAX_PART_HEADER_BYTES) throw malformed('part headers too long');
          break;
        }
        const headers = buffer.subarray(0, end).toString('utf8');
        buffer = buffer.subarray(end + 4);
        const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? '';
        const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
        if (name === field) {
          info.found = true;
          info.fileName = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
          info.contentType = /^content-type:\s*([^\r\n]*)$/im.exec(headers)?.[1]?.trim();
          state = 'file';
        } else {
          state = 'skip';
        }
      } else {
        const at = buffer.indexOf(delimiter);
        if (at !== -1) {
          if (at > 0) yield buffer.subarray(0, at);
          return;
        }
        // Keep what could be the start of the delimiter for the next chunk.
        const keep = Math.min(buffer.length, delimiter.length - 1);
        if (buffer.length > keep) yield buffer.subarray(0, buffer.length - keep);
        buffer = buffer.subarray(buffer.length - keep);
        break;
      }
      if (state !== 'file' && consumedBeforeFile > MAX_BYTES_BEFORE_FILE)
        throw malformed(`more than ${MAX_BYTES_BEFORE_FILE} bytes before the \`${field}\` part`);
    }
    if (state !== 'file' && consumedBeforeFile > MAX_BYTES_BEFORE_FILE)
      throw malformed(`more than ${MAX_BYTES_BEFORE_FILE} bytes before the \`${field}\` part`);
  }
  throw malformed(state === 'file' ? `the \`${field}\` part is not closed` : `no \`${field}\` part`);
}
