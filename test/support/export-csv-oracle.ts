import type { Storage } from '../../src/storage/storage.ts';

export const DHIS2_CSV_HEADER =
  'dataelement,period,orgunit,categoryoptioncombo,attributeoptioncombo,value,storedby,lastupdated,comment,followup,deleted';

function quoted(field: string): string {
  return /[",\r\n]/.test(field) ? `"${field.replaceAll('"', '""')}"` : field;
}

export interface OracleOptions {
  /** The SQL for an object's output identifier, given its table alias (default: its UID). */
  identifier?: (alias: string) => string;
  /** Extra conditions on `dv` (data_value), ANDed to `dv.deleted = 0`. */
  where?: string;
  limit?: number;
}

/**
 * The CSV a data value export must write, read independently with plain SQL joins in primary-key
 * order: the oracle the export tests compare Ferry's streaming export with.
 */
export async function expectedExportCsv(storage: Storage, options: OracleOptions = {}): Promise<string> {
  const id = options.identifier ?? ((alias: string) => `${alias}.uid`);
  const rows = await storage.query<Record<string, unknown>>(
    `SELECT ${id('de')} AS de, p.iso AS pe, ${id('ou')} AS ou, ${id('coc')} AS coc, ${id('aoc')} AS aoc,
            dv.value AS value, dv.stored_by AS stored_by, dv.last_updated AS last_updated,
            dv.comment AS comment, dv.follow_up AS follow_up, dv.deleted AS deleted
       FROM data_value dv
       JOIN metadata_object de ON de.sid = dv.data_element_id
       JOIN period p ON p.period_id = dv.period_id
       JOIN metadata_object ou ON ou.sid = dv.org_unit_id
       JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
       JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id
      WHERE dv.deleted = 0${options.where ? ` AND ${options.where}` : ''}
      ORDER BY dv.org_unit_id, dv.period_id, dv.data_element_id, dv.category_option_combo_id,
               dv.attribute_option_combo_id`,
  );
  const lines = rows
    .slice(0, options.limit ?? rows.length)
    .map((r) =>
      [
        r.de,
        r.pe,
        r.ou,
        r.coc,
        r.aoc,
        r.value ?? '',
        r.stored_by ?? '',
        r.last_updated,
        r.comment ?? '',
        Number(r.follow_up) === 0 ? 'false' : 'true',
        Number(r.deleted) === 0 ? 'false' : 'true',
      ]
        .map((f) => quoted(String(f)))
        .join(','),
    );
  return `${[DHIS2_CSV_HEADER, ...lines].join('\n')}\n`;
}
