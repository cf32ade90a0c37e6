// @ts-check
/**
 * Ferry's web app: log in, import a file (as a background job by default, like DHIS2's
 * Import/Export app), follow jobs live, and use the export queue. Plain ES modules, no build step:
 * a district laptop serves it from disk.
 */
import { api, ApiError, postJson } from './api.js';

const view = /** @type {HTMLElement} */ (document.getElementById('view'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const who = /** @type {HTMLElement} */ (document.getElementById('who'));

/** @type {EventSource | undefined} */
let liveEvents;

/**
 * Builds an element; children that are strings become text nodes, so nothing is parsed as HTML.
 * @param {string} tag
 * @param {Record<string, string | boolean | ((event: Event) => void)>} [attributes]
 * @param {Array<Node | string | null | undefined>} [children]
 */
function h(tag, attributes = {}, children = []) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (typeof value === 'function') element.addEventListener(key.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(key, '');
    else if (value !== false) element.setAttribute(key, value);
  }
  for (const child of children) if (child !== null && child !== undefined) element.append(child);
  return element;
}

/** @param {Array<Node | string>} nodes */
function show(...nodes) {
  view.replaceChildren(...nodes);
}

/** @param {unknown} error */
function showError(error) {
  view.append(
    h('p', { class: 'error', role: 'alert' }, [error instanceof Error ? error.message : String(error)]),
  );
}

/** @param {string | null | undefined} status */
function statusBadge(status) {
  return h('span', { class: `status-${status ?? ''}` }, [status ?? '']);
}

/** @param {string | null | undefined} iso */
function when(iso) {
  return iso ? new Date(iso).toLocaleString() : '';
}

// --- Login -------------------------------------------------------------------------------------

function renderLogin() {
  nav.hidden = true;
  const username = h('input', { name: 'username', autocomplete: 'username', required: true });
  const password = h('input', {
    name: 'password',
    type: 'password',
    autocomplete: 'current-password',
    required: true,
  });
  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          await postJson('/api/auth/login', {
            username: /** @type {HTMLInputElement} */ (username).value,
            password: /** @type {HTMLInputElement} */ (password).value,
          });
          location.hash = '#/import';
          await route();
        } catch (error) {
          showError(error instanceof ApiError && error.status === 401 ? 'Wrong username or password' : error);
        }
      },
    },
    [
      h('h1', {}, ['Log in to Ferry']),
      h('label', {}, ['Username ', username]),
      h('label', {}, ['Password ', password]),
      h('button', { type: 'submit' }, ['Log in']),
    ],
  );
  show(form);
}

// --- Import ------------------------------------------------------------------------------------

/** What can be imported, with DHIS2's endpoint and the options each takes. */
const IMPORT_KINDS = {
  dataValues: { label: 'Data values', path: '/api/dataValueSets', strategy: 'importStrategy' },
  metadata: { label: 'Metadata', path: '/api/metadata', strategy: 'importStrategy' },
  gml: { label: 'Geometry (GML)', path: '/api/metadata/gml', strategy: '' },
  geojson: { label: 'Geometry (GeoJSON)', path: '/api/organisationUnits/geometry', strategy: '' },
};

/** @param {string} name */
function contentTypeFor(name) {
  const lower = name.toLowerCase().replace(/\.(gz|zip)$/, '');
  if (lower.endsWith('.adx.xml') || lower.endsWith('.adx')) return 'application/adx+xml';
  if (lower.endsWith('.xml') || lower.endsWith('.gml')) return 'application/xml';
  if (lower.endsWith('.csv')) return 'application/csv';
  if (lower.endsWith('.pdf')) return 'application/pdf';
  if (lower.endsWith('.geojson')) return 'application/geo+json';
  return 'application/json';
}

/** @param {URLSearchParams} [prefill] */
function renderImport(prefill) {
  const kind = h(
    'select',
    { name: 'kind' },
    Object.entries(IMPORT_KINDS).map(([value, k]) => h('option', { value }, [k.label])),
  );
  const file = h('input', { type: 'file', name: 'file', required: true });
  const dryRun = h('input', { type: 'checkbox', name: 'dryRun' });
  const asJob = h('input', { type: 'checkbox', name: 'async', checked: true });
  const strategy = h(
    'select',
    { name: 'importStrategy' },
    ['CREATE_AND_UPDATE', 'CREATE', 'UPDATE', 'DELETE'].map((s) => h('option', { value: s }, [s])),
  );
  const atomic = h('input', { type: 'checkbox', name: 'atomic' });
  if (prefill) {
    /** @type {HTMLSelectElement} */ (strategy).value = prefill.get('importStrategy') ?? 'CREATE_AND_UPDATE';
    /** @type {HTMLInputElement} */ (dryRun).checked = prefill.get('dryRun') === 'true';
  }
  const result = h('div', { id: 'import-result' });
  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        const chosen = /** @type {HTMLInputElement} */ (file).files?.[0];
        if (!chosen) return;
        const selected =
          IMPORT_KINDS[
            /** @type {keyof typeof IMPORT_KINDS} */ (/** @type {HTMLSelectElement} */ (kind).value)
          ];
        const params = new URLSearchParams();
        params.set('dryRun', String(/** @type {HTMLInputElement} */ (dryRun).checked));
        params.set('async', String(/** @type {HTMLInputElement} */ (asJob).checked));
        if (selected.strategy)
          params.set(selected.strategy, /** @type {HTMLSelectElement} */ (strategy).value);
        if (/** @type {HTMLInputElement} */ (atomic).checked) {
          params.set(
            selected.path === '/api/metadata' ? 'atomicMode' : 'atomic',
            selected.path === '/api/metadata' ? 'ALL' : 'true',
          );
        }
        if (chosen.name.toLowerCase().endsWith('.csv') && selected.path === '/api/metadata') {
          params.set('classKey', prompt('CSV class key (e.g. ORGANISATION_UNIT, DATA_ELEMENT)') ?? '');
        }
        result.replaceChildren(h('p', { class: 'muted' }, [`Uploading ${chosen.name}…`]));
        try {
          const reply = await api(`${selected.path}?${params}`, {
            method: 'POST',
            headers: {
              'content-type': contentTypeFor(chosen.name),
              'x-file-name': encodeURIComponent(chosen.name),
            },
            body: chosen,
          });
          const jobId = reply?.response?.id;
          if (jobId && reply?.response?.relativeNotifierEndpoint) {
            location.hash = `#/jobs/${jobId}`;
          } else {
            result.replaceChildren(renderSummary(reply?.response ?? reply));
          }
        } catch (error) {
          result.replaceChildren(
            h('p', { class: 'error', role: 'alert' }, [
              error instanceof Error ? error.message : String(error),
            ]),
          );
        }
      },
    },
    [
      h('h1', {}, ['Import']),
      h('label', {}, ['What ', kind]),
      h('label', {}, ['File (JSON, XML, CSV, ADX, PDF, GML, GeoJSON; gzip or zip) ', file]),
      h('label', {}, ['Strategy ', strategy]),
      h('label', {}, [dryRun, ' Dry run: check everything, change nothing']),
      h('label', {}, [atomic, ' Atomic: all or nothing']),
      h('label', {}, [asJob, ' Run as a background job']),
      h('button', { type: 'submit' }, ['Start import']),
    ],
  );
  show(form, result);
}

/**
 * An ImportSummary (data values) or ImportReport (metadata), with every conflict.
 * @param {any} summary
 */
function renderSummary(summary) {
  if (!summary || typeof summary !== 'object') return h('p', {}, [String(summary ?? '')]);
  const counts = summary.importCount ?? summary.stats ?? {};
  const rows = Object.entries(counts).map(([key, value]) =>
    h('tr', {}, [h('th', {}, [key]), h('td', {}, [String(value)])]),
  );
  const conflicts = [];
  for (const conflict of summary.conflicts ?? []) {
    conflicts.push(
      h('tr', {}, [
        h('td', {}, [conflict.errorCode ?? '']),
        h('td', {}, [conflict.object ?? '']),
        h('td', {}, [conflict.value ?? '']),
        h('td', {}, [(conflict.indexes ?? []).slice(0, 20).join(', ')]),
      ]),
    );
  }
  for (const typeReport of summary.typeReports ?? []) {
    for (const objectReport of typeReport.objectReports ?? []) {
      for (const error of objectReport.errorReports ?? []) {
        conflicts.push(
          h('tr', {}, [
            h('td', {}, [error.errorCode ?? '']),
            h('td', {}, [`${typeReport.klass?.split('.').pop() ?? ''} ${objectReport.uid ?? ''}`]),
            h('td', {}, [error.message ?? '']),
            h('td', {}, [String(objectReport.index ?? '')]),
          ]),
        );
      }
    }
  }
  return h('div', { class: 'card', id: 'summary' }, [
    h('h2', {}, ['Summary: ', statusBadge(summary.status)]),
    summary.description ? h('p', {}, [summary.description]) : null,
    h('table', {}, rows),
    conflicts.length > 0
      ? h('div', {}, [
          h('h3', {}, [`Conflicts (${conflicts.length})`]),
          h('table', { id: 'conflicts' }, [
            h('tr', {}, [
              h('th', {}, ['Code']),
              h('th', {}, ['Object']),
              h('th', {}, ['Message']),
              h('th', {}, ['Rows']),
            ]),
            ...conflicts,
          ]),
        ])
      : h('p', {}, ['No conflicts.']),
  ]);
}

// --- Jobs --------------------------------------------------------------------------------------

async function renderJobs() {
  const jobs = await api('/api/jobs');
  const list = Array.isArray(jobs) ? jobs : (jobs.jobs ?? []);
  show(
    h('div', { class: 'card' }, [
      h('h1', {}, ['Jobs']),
      list.length === 0
        ? h('p', {}, ['No jobs yet.'])
        : h('table', { id: 'jobs' }, [
            h(
              'tr',
              {},
              ['#', 'Type', 'Status', 'Created', 'Finished', 'Progress'].map((t) => h('th', {}, [t])),
            ),
            ...list.map((/** @type {any} */ job) =>
              h('tr', {}, [
                h('td', {}, [h('a', { href: `#/jobs/${job.id}` }, [String(job.number ?? job.id)])]),
                h('td', {}, [job.type]),
                h('td', {}, [statusBadge(job.status)]),
                h('td', {}, [when(job.created)]),
                h('td', {}, [when(job.finished)]),
                h('td', {}, [job.progress ? `${job.progress.stage}: ${job.progress.processed}` : '']),
              ]),
            ),
          ]),
    ]),
  );
}

/** @param {string} id */
async function renderJob(id) {
  const details = await api(`/api/jobs/${encodeURIComponent(id)}`);
  const job = details.job ?? details;
  const progressBar = h('progress', { max: '1', value: '0' });
  const cancelButton = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        await api(`/api/jobs/${encodeURIComponent(id)}/cancel`, { method: 'POST' }).catch(showError);
      },
    },
    ['Cancel'],
  );
  const progressText = h('p', { id: 'progress-text', class: 'muted' });
  const status = h('span', { id: 'job-status' }, [statusBadge(job.status)]);
  const notifications = h('ul', { id: 'notifications' });
  const summary = h('div', {});
  /** @param {any} current */
  const update = (current) => {
    status.replaceChildren(statusBadge(current.status));
    const finished = ['COMPLETED', 'FAILED', 'CANCELLED'].includes(current.status);
    cancelButton.hidden = finished;
    if (current.status === 'COMPLETED') {
      progressBar.setAttribute('max', '1');
      progressBar.setAttribute('value', '1');
    }
    const progress = current.progress;
    if (progress) {
      if (progress.total) {
        progressBar.setAttribute('max', String(progress.total));
        progressBar.setAttribute('value', String(progress.processed));
      }
      progressText.textContent = `${progress.stage}: ${progress.processed.toLocaleString()}${progress.total ? ` of ${progress.total.toLocaleString()}` : ''}${progress.rowsPerSecond ? ` (${Math.round(progress.rowsPerSecond).toLocaleString()} rows/s)` : ''}`;
    }
    if (current.summary) summary.replaceChildren(renderSummary(current.summary));
  };
  /** Newest first, as `/api/jobs/{id}` gives them. @type {any[]} */
  const notes = [...(details.notifications ?? [])];
  const showNotifications = () =>
    notifications.replaceChildren(
      ...notes.map((n) => h('li', {}, [`${when(n.time)} ${n.level}: ${n.message}`])),
    );
  update(job);
  showNotifications();
  show(
    h('div', { class: 'card' }, [
      h('h1', {}, [`Job ${job.number ?? job.id}: ${job.type} `, status]),
      h('p', { class: 'muted' }, [`Created ${when(job.created)}`]),
      progressBar,
      progressText,
      cancelButton,
      ' ',
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: async () => {
            const reply = await api(`/api/jobs/${encodeURIComponent(id)}/recreate?submit=true`, {
              method: 'POST',
            }).catch(showError);
            const next = reply?.response?.id ?? reply?.id ?? reply?.job?.id;
            if (next) location.hash = `#/jobs/${next}`;
          },
        },
        ['Run again'],
      ),
      h('h2', {}, ['Messages']),
      notifications,
    ]),
    summary,
  );
  // The server sends named events: `progress` {id, type, status, progress}, `notification` (one
  // message) and `done` {id, status, summary, error}, after which it ends the stream.
  const events = new EventSource(`/api/jobs/${encodeURIComponent(id)}/events`);
  liveEvents = events;
  events.addEventListener('progress', (event) =>
    update(JSON.parse(/** @type {MessageEvent} */ (event).data)),
  );
  events.addEventListener('notification', (event) => {
    const note = JSON.parse(/** @type {MessageEvent} */ (event).data);
    if (notes.some((n) => n.uid === note.uid)) return;
    notes.unshift(note);
    showNotifications();
  });
  events.addEventListener('done', (event) => {
    const data = JSON.parse(/** @type {MessageEvent} */ (event).data);
    update(data);
    if (data.error) summary.append(h('p', { class: 'error', role: 'alert' }, [data.error]));
    // Closed here, or EventSource would reconnect once the server ends the stream.
    events.close();
  });
  events.onerror = () => events.close();
}

// --- Exports -----------------------------------------------------------------------------------

async function renderExports() {
  const cards = await api('/api/exports');
  const list = Array.isArray(cards) ? cards : (cards.exports ?? []);
  const kind = h('select', { name: 'kind' }, [
    h('option', { value: 'metadata' }, ['Metadata']),
    h('option', { value: 'dataValues' }, ['Data values']),
  ]);
  const format = h(
    'select',
    { name: 'format' },
    ['json', 'xml', 'csv', 'adx'].map((f) => h('option', { value: f }, [f])),
  );
  const compression = h(
    'select',
    { name: 'compression' },
    ['zip', 'gzip', 'none'].map((c) => h('option', { value: c }, [c])),
  );
  // Optional: makes the file an AES-256 zip. Sent in the body only, never kept by the server.
  const exportPassword = h('input', {
    name: 'exportPassword',
    type: 'password',
    autocomplete: 'new-password',
    minlength: '8',
    placeholder: 'optional, 8+ characters',
  });
  // A CSV someone will open in a spreadsheet: cells that would start a formula get a leading '.
  // Off by default, because an exchange file must re-import exactly (docs/security.md).
  const forSpreadsheet = h('input', { name: 'escapeFormulas', type: 'checkbox' });
  const form = h(
    'form',
    {
      class: 'card',
      onsubmit: async (event) => {
        event.preventDefault();
        try {
          const password = /** @type {HTMLInputElement} */ (exportPassword).value;
          const chosenFormat = /** @type {HTMLSelectElement} */ (format).value;
          const escape = /** @type {HTMLInputElement} */ (forSpreadsheet).checked && chosenFormat === 'csv';
          await postJson('/api/exports', {
            kind: /** @type {HTMLSelectElement} */ (kind).value,
            format: chosenFormat,
            compression: password ? 'zip' : /** @type {HTMLSelectElement} */ (compression).value,
            params: escape ? { escapeFormulas: 'true' } : {},
            ...(password ? { password } : {}),
          });
          await renderExports();
        } catch (error) {
          showError(error);
        }
      },
    },
    [
      h('h1', {}, ['Exports']),
      h('label', {}, ['What ', kind]),
      h('label', {}, ['Format ', format]),
      h('label', {}, ['Compression ', compression]),
      h('label', {}, ['Password ', exportPassword]),
      h('label', {}, [forSpreadsheet, ' CSV to open in a spreadsheet (escape formulas; not for import)']),
      h('button', { type: 'submit' }, ['Queue export']),
    ],
  );
  show(
    form,
    ...list.map((/** @type {any} */ card) =>
      h('div', { class: 'card export-card' }, [
        h('h2', {}, [
          `#${card.jobNumber ?? card.number ?? ''} ${card.description ?? card.kind ?? ''} `,
          statusBadge(card.status),
        ]),
        h('p', { class: 'muted' }, [
          `Asked ${when(card.created)} by ${card.requestedBy ?? ''}; format ${card.format ?? ''}`,
          card.passwordProtected ? `; password-protected (${card.encryption ?? 'AES-256'})` : '',
        ]),
        card.file
          ? h('p', { class: 'export-file' }, [
              card.file.downloadUrl
                ? h('a', { href: card.file.downloadUrl }, [card.file.name])
                : `${card.file.name}${card.file.expired ? ' (expired: regenerate it)' : ''}`,
              ` (${card.file.sizeText})`,
              card.file.expires && !card.file.expired ? `, kept until ${when(card.file.expires)}` : '',
            ])
          : null,
        card.error ? h('p', { class: 'error' }, [card.error]) : null,
        ...regenerateControls(card),
      ]),
    ),
  );
}

/** Regenerate; a password-protected export asks for its password again (the server never kept it). */
function regenerateControls(/** @type {any} */ card) {
  const url = `/api/exports/${encodeURIComponent(card.id)}/regenerate`;
  const password = card.passwordProtected
    ? h('input', {
        type: 'password',
        autocomplete: 'new-password',
        minlength: '8',
        'aria-label': 'Password for the regenerated file',
        placeholder: 'password',
      })
    : null;
  const button = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        const request = password
          ? postJson(url, { password: /** @type {HTMLInputElement} */ (password).value })
          : api(url, { method: 'POST' });
        await request.catch(showError);
        await renderExports();
      },
    },
    ['Regenerate'],
  );
  return password ? [password, button] : [button];
}

// --- Routing -----------------------------------------------------------------------------------

async function route() {
  liveEvents?.close();
  liveEvents = undefined;
  let me;
  try {
    me = await api('/api/me');
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return renderLogin();
    throw error;
  }
  nav.hidden = false;
  who.textContent = me.name ?? me.username ?? '';
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  try {
    if (parts[0] === 'jobs' && parts[1]) return await renderJob(parts[1]);
    if (parts[0] === 'jobs') return await renderJobs();
    if (parts[0] === 'exports') return await renderExports();
    return renderImport(new URLSearchParams(query ?? ''));
  } catch (error) {
    show(h('div', {}, []));
    showError(error);
  }
}

document.getElementById('logout')?.addEventListener('click', async () => {
  await api('/api/auth/logout', { method: 'POST' }).catch(() => undefined);
  location.hash = '';
  renderLogin();
});
window.addEventListener('hashchange', () => void route());
void route();
