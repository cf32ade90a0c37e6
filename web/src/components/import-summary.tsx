import { useMemo, useState } from 'react';
import {
  Button,
  ButtonStrip,
  DataTable,
  DataTableBody,
  DataTableCell,
  DataTableColumnHeader,
  DataTableHead,
  DataTableRow,
  InputField,
  Pagination,
  Tag,
} from '@dhis2/ui';
import { csvLine } from '../spreadsheet-safe.ts';
import { downloadText } from '../download.ts';

/** One row of the conflicts table: a data value conflict or a metadata error report. */
export interface ConflictRow {
  code: string;
  object: string;
  message: string;
  rows: string;
}

type AnyRecord = Record<string, unknown>;
const record = (value: unknown): AnyRecord =>
  value && typeof value === 'object' ? (value as AnyRecord) : {};
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
const text = (value: unknown): string => (value === undefined || value === null ? '' : String(value));

/** The summary inside DHIS2's envelope (`{response: ...}`) or as it is. */
export function unwrapSummary(value: unknown): AnyRecord {
  const outer = record(value);
  return 'response' in outer &&
    typeof outer.response === 'object' &&
    !('status' in outer && 'importCount' in outer)
    ? record(outer.response)
    : outer;
}

export function conflictRows(summary: AnyRecord): ConflictRow[] {
  const rows: ConflictRow[] = [];
  for (const raw of list(summary.conflicts)) {
    const conflict = record(raw);
    const objects = record(conflict.objects);
    const object = text(conflict.object) || Object.values(objects).map(text).join(', ');
    rows.push({
      code: text(conflict.errorCode),
      object: conflict.property ? `${object} (${text(conflict.property)})` : object,
      message: text(conflict.value),
      rows: list(conflict.indexes).slice(0, 50).map(text).join(', '),
    });
  }
  // Tracker: the validation report's errors, each naming its object's type and UID.
  for (const raw of list(record(summary.validationReport).errorReports)) {
    const error = record(raw);
    rows.push({
      code: text(error.errorCode),
      object: `${text(error.trackerType)} ${text(error.uid)}`.trim(),
      message: text(error.message),
      rows: '',
    });
  }
  for (const rawType of list(summary.typeReports)) {
    const typeReport = record(rawType);
    const type = text(typeReport.klass).split('.').pop() ?? '';
    for (const rawObject of list(typeReport.objectReports)) {
      const objectReport = record(rawObject);
      for (const rawError of list(objectReport.errorReports)) {
        const error = record(rawError);
        rows.push({
          code: text(error.errorCode),
          object: `${type} ${text(objectReport.uid)}`.trim(),
          message: text(error.message),
          rows: text(objectReport.index),
        });
      }
    }
  }
  return rows;
}

function counts(summary: AnyRecord): [string, number][] {
  const source = record(summary.importCount ?? summary.stats);
  return Object.entries(source)
    .filter(([, value]) => typeof value === 'number')
    .map(([key, value]) => [key, value as number]);
}

/** Metadata's counts per type (`typeReports[].stats`), as DHIS2's app shows them. */
function typeCounts(summary: AnyRecord): { type: string; stats: AnyRecord }[] {
  return list(summary.typeReports).map((raw) => {
    const report = record(raw);
    return { type: text(report.klass).split('.').pop() ?? '', stats: record(report.stats) };
  });
}

function statusTag(status: string) {
  if (status === 'OK' || status === 'SUCCESS') return <Tag positive>{status}</Tag>;
  if (status === 'WARNING') return <Tag neutral>{status}</Tag>;
  return <Tag negative>{status || 'UNKNOWN'}</Tag>;
}

const PAGE_SIZE = 10;
type SortKey = keyof ConflictRow;

/**
 * An import's summary: status, counts, whether it was a dry run, and every conflict in a table that
 * searches, sorts and pages; the whole report downloads as JSON and the conflicts as CSV.
 */
export function ImportSummary({ report, dryRun, name }: { report: unknown; dryRun: boolean; name: string }) {
  const summary = unwrapSummary(report);
  const rows = useMemo(() => conflictRows(summary), [summary]);
  const [search, setSearch] = useState('');
  const [page, setPage] = useState(1);
  const [sort, setSort] = useState<{ key: SortKey; direction: 'asc' | 'desc' } | null>(null);
  const status = text(summary.status);
  const options = record(summary.importOptions);
  const isDryRun = dryRun || options.dryRun === true || summary.importMode === 'VALIDATE';

  const shown = useMemo(() => {
    const needle = search.trim().toLowerCase();
    const found = needle
      ? rows.filter((row) => Object.values(row).some((value) => value.toLowerCase().includes(needle)))
      : rows;
    if (!sort) return found;
    const sign = sort.direction === 'asc' ? 1 : -1;
    return [...found].sort(
      (a, b) => sign * a[sort.key].localeCompare(b[sort.key], undefined, { numeric: true }),
    );
  }, [rows, search, sort]);
  const pageCount = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
  const current = Math.min(page, pageCount);
  const visible = shown.slice((current - 1) * PAGE_SIZE, current * PAGE_SIZE);

  const header = (key: SortKey, label: string) => (
    <DataTableColumnHeader
      name={key}
      sortIconTitle={`Sort by ${label}`}
      sortDirection={sort?.key === key ? sort.direction : 'default'}
      onSortIconClick={({ direction }) =>
        setSort(direction === 'default' ? null : { key, direction: direction as 'asc' | 'desc' })
      }
    >
      {label}
    </DataTableColumnHeader>
  );

  const downloadCsv = () =>
    downloadText(
      `${name}-conflicts.csv`,
      [
        csvLine(['code', 'object', 'message', 'rows']),
        ...rows.map((row) => csvLine([row.code, row.object, row.message, row.rows])),
      ].join('\r\n') + '\r\n',
      'text/csv',
    );

  return (
    <section id="summary" className="section" aria-label="Import summary">
      <h2>
        {isDryRun ? 'Dry run summary' : 'Import summary'} {statusTag(status)}{' '}
        {isDryRun ? <Tag>Dry run: nothing was saved</Tag> : null}
      </h2>
      {summary.description ? <p className="muted">{text(summary.description)}</p> : null}
      <div className="counts">
        {counts(summary).map(([key, value]) => (
          <div className="count" key={key} data-count={key}>
            <strong>{value.toLocaleString()}</strong>
            {key}
          </div>
        ))}
      </div>
      {typeCounts(summary).length > 0 ? (
        <details>
          <summary>By type ({typeCounts(summary).length})</summary>
          <div className="table-wrap" id="type-counts">
            <DataTable>
              <DataTableHead>
                <DataTableRow>
                  <DataTableColumnHeader>Type</DataTableColumnHeader>
                  <DataTableColumnHeader>Created</DataTableColumnHeader>
                  <DataTableColumnHeader>Updated</DataTableColumnHeader>
                  <DataTableColumnHeader>Deleted</DataTableColumnHeader>
                  <DataTableColumnHeader>Ignored</DataTableColumnHeader>
                </DataTableRow>
              </DataTableHead>
              <DataTableBody>
                {typeCounts(summary).map(({ type, stats }) => (
                  <DataTableRow key={type}>
                    <DataTableCell>{type}</DataTableCell>
                    <DataTableCell>{text(stats.created)}</DataTableCell>
                    <DataTableCell>{text(stats.updated)}</DataTableCell>
                    <DataTableCell>{text(stats.deleted)}</DataTableCell>
                    <DataTableCell>{text(stats.ignored)}</DataTableCell>
                  </DataTableRow>
                ))}
              </DataTableBody>
            </DataTable>
          </div>
        </details>
      ) : null}
      <ButtonStrip>
        <Button
          small
          onClick={() =>
            downloadText(`${name}-report.json`, JSON.stringify(report, null, 2), 'application/json')
          }
        >
          Download report (JSON)
        </Button>
        <Button small onClick={downloadCsv} disabled={rows.length === 0}>
          Download conflicts (CSV)
        </Button>
      </ButtonStrip>
      <h3>Conflicts ({rows.length.toLocaleString()})</h3>
      {rows.length === 0 ? (
        <p>No conflicts.</p>
      ) : (
        <>
          <InputField
            label="Search conflicts"
            name="conflictSearch"
            type="search"
            value={search}
            onChange={({ value }) => {
              setSearch(value ?? '');
              setPage(1);
            }}
            placeholder="Code, object, message or row"
          />
          <div className="table-wrap" id="conflicts">
            <DataTable>
              <DataTableHead>
                <DataTableRow>
                  {header('code', 'Code')}
                  {header('object', 'Object')}
                  {header('message', 'Message')}
                  {header('rows', 'Rows')}
                </DataTableRow>
              </DataTableHead>
              <DataTableBody>
                {visible.map((row, index) => (
                  <DataTableRow key={`${current}-${index}`}>
                    <DataTableCell>{row.code}</DataTableCell>
                    <DataTableCell>{row.object}</DataTableCell>
                    <DataTableCell>{row.message}</DataTableCell>
                    <DataTableCell>{row.rows}</DataTableCell>
                  </DataTableRow>
                ))}
              </DataTableBody>
            </DataTable>
          </div>
          {shown.length === 0 ? <p>No conflict matches “{search}”.</p> : null}
          <Pagination
            page={current}
            pageCount={pageCount}
            pageSize={PAGE_SIZE}
            total={shown.length}
            onPageChange={setPage}
            hidePageSizeSelect
          />
        </>
      )}
    </section>
  );
}
