/**
 * Every hostile-input limit in one place, each with its reason. Raising one is a conscious choice;
 * see docs/security.md.
 */
export const INPUT_LIMITS = {
  /** Expanded size of a compressed body. A national file of 10M values as JSON is about 1.6 GiB. */
  maxExpandedBytes: 4 * 1024 ** 3,
  /**
   * Expansion ratio beyond which a compressed body is treated as a bomb. Real DHIS2 exports
   * compress 8-12x (perf.md B5); 200x allows very repetitive files and stops 1000x bombs.
   * Only checked once 64 MiB have expanded, so tiny files with high ratios pass.
   */
  maxExpansionRatio: 200,
  ratioCheckAfterBytes: 64 * 1024 ** 2,
  /** Zip entries: DHIS2 reads only the first; an archive with more is refused, not guessed at. */
  maxZipEntries: 1,
  /** One CSV line or one XML text node: real rows are < 1 KiB; long comments fit in 1 MiB. */
  maxLineBytes: 1024 * 1024,
  /** One CSV field (a LONG_TEXT value or a comment). */
  maxFieldChars: 64 * 1024,
  /** JSON/XML nesting: DHIS2 payloads nest < 10 deep; 64 stops stack-exhaustion attacks. */
  maxNestingDepth: 64,
  /**
   * One JSON string. Data entry forms' HTML is the longest real text (hundreds of KiB); 16 MiB
   * leaves room and stops a single string from eating memory.
   */
  maxJsonStringChars: 16 * 1024 ** 2,
  /**
   * One streamed JSON item (an org unit with its geometry, one data value) or one whole small
   * document. Detailed national boundaries reach tens of MiB; 256 MiB bounds memory per item.
   */
  maxJsonValueChars: 256 * 1024 ** 2,
  /** Attributes on one XML element: DXF2 data values carry 12; 256 stops attribute floods. */
  maxXmlAttributes: 256,
  /**
   * Text before the root element (XML declaration, comments). A DOCTYPE's internal subset would
   * live here; saxes buffers it whole, so the prolog is capped even though a DOCTYPE is refused.
   */
  maxXmlPrologChars: 64 * 1024,
  /** Upload size before decompression. */
  maxUploadBytes: 2 * 1024 ** 3,
  /**
   * A PDF form is read whole (its cross-reference table is at the end): a data entry form is tens
   * of KiB; 32 MiB leaves room for embedded fonts and scanned attachments.
   */
  maxPdfBytes: 32 * 1024 ** 2,
  /**
   * Everything a PDF's Flate streams inflate to, together. A form's streams (page content, fonts,
   * object streams) inflate to a few MiB; a 2.5 MB bomb of zeros inflated to 2.5 GB and 4.3 GB of
   * memory in pdf-lib. Counted before pdf-lib sees the file.
   */
  maxPdfExpandedBytes: 64 * 1024 ** 2,
} as const;

/**
 * An Excel workbook (.xlsx) is a zip of XML parts that the import wizard opens part by part; each
 * part keeps INPUT_LIMITS' expansion size and ratio (a bomb is a part that inflates 1000x). A real
 * workbook has tens of parts; its shared strings (every distinct text of every sheet) are the one
 * part held in memory while a sheet streams.
 */
export const XLSX_LIMITS = {
  /** Parts in the zip: sheets, styles, themes, drawings; a workbook of 1,000 sheets has ~3,000. */
  maxEntries: 10_000,
  /** Characters of all shared strings together. */
  maxSharedStringChars: 128 * 1024 ** 2,
  /** Cells a fixed-layout form reads from one sheet when no cell addresses are given. */
  maxFormCells: 100_000,
} as const;

export type InputLimits = { -readonly [K in keyof typeof INPUT_LIMITS]: number };

/**
 * An app zip (POST /api/apps) is unpacked whole, many files, onto the server's disk: each bound
 * stops one way of filling the disk or the inode table. DHIS2's largest apps (maps, capture) are
 * 10-40 MiB zipped, 60-150 MiB unpacked, under 3,000 files.
 */
export const APP_ZIP_LIMITS = {
  /** The zip as uploaded. */
  maxZipBytes: 256 * 1024 ** 2,
  /** Entries (files and folders): an archive of a million empty files is an inode bomb. */
  maxEntries: 10_000,
  /** One file unpacked: a bundle's biggest chunk or source map is a few MiB. */
  maxEntryBytes: 64 * 1024 ** 2,
  /** All files unpacked together, counted as they inflate (declared sizes can lie). */
  maxExpandedBytes: 512 * 1024 ** 2,
  /** manifest.webapp, parsed in memory: a real one is under 4 KiB. */
  maxManifestBytes: 256 * 1024,
  /** One entry's path: deep or long names are never a real app's. */
  maxPathChars: 512,
} as const;

/**
 * Limits of the HTTP layer: bodies of routes that are not uploads, sign-in, slow clients. Uploads
 * (imports) stream to disk and keep `maxUploadBytes`; everything else is parsed in memory, so it
 * gets a small cap of its own. Timeouts can be changed through the environment (src/config.ts).
 */
export const HTTP_LIMITS = {
  /**
   * JSON bodies of API routes that are not imports (export requests, API tokens, job actions).
   * The largest real one is an export request naming a few thousand UIDs (~100 KiB); DHIS2's own
   * non-upload endpoints take far less than 4 MiB.
   */
  maxJsonBodyBytes: 4 * 1024 ** 2,
  /** Sign-in and settings bodies: a username and a password, a few hundred bytes. */
  maxSmallBodyBytes: 1024 ** 2,
  /** A username: DHIS2's rule allows 4-255 characters; longer is refused before anything is kept. */
  maxUsernameChars: 255,
  /** Failed sign-ins of one username from one address before backoff starts. */
  loginFreeFailures: 5,
  /**
   * Failed sign-ins from one address, over all usernames, before that address is slowed: a
   * password spray from one host. Large enough for a building of users behind one NAT.
   */
  loginFreeFailuresPerAddress: 50,
  /** First delay after the free failures; doubles with each failure, up to the maximum. */
  loginBaseDelayMs: 15_000,
  loginMaxDelayMs: 15 * 60_000,
  /** A failure is forgotten an hour after the key's last one. */
  loginForgetAfterMs: 60 * 60_000,
  /** Keys the throttle holds at once (each under ~300 bytes): a few MiB at most. */
  loginMaxKeys: 10_000,
} as const;

/**
 * Slow clients (slowloris, a body trickled at a byte a second): how long a client may take. Each
 * can be changed through the environment (`FERRY_HEADERS_TIMEOUT_MS`, ...; src/config.ts).
 */
export const HTTP_TIMEOUTS = {
  /**
   * Request line and headers: a few hundred bytes that any link delivers in well under a second.
   * DHIS2's Tomcat allows 20 s for a connection's first request; so does Ferry.
   */
  headersTimeoutMs: 20_000,
  /**
   * A whole request, body included. Uploads are bounded by the minimum rate below instead; this is
   * the outer bound for a large import on a slow link (2 GiB at 4 MB/s).
   */
  requestTimeoutMs: 10 * 60_000,
  /**
   * Slowest body accepted, averaged over each window: 1 KiB/s is far below a 2G mobile link
   * (~10 KiB/s) and far above a trickle meant to hold a connection open.
   */
  minBodyBytesPerSecond: 1024,
  bodyRateWindowMs: 20_000,
} as const;

export type HttpTimeouts = { -readonly [K in keyof typeof HTTP_TIMEOUTS]: number };
