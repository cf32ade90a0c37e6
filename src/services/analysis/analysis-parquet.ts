import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import {
  numericCell,
  parseAnalysisTime,
  type AnalysisVariable,
} from '../../domain/analysis/analysis-variables.ts';
import type { ColumnStats } from './analysis-table.ts';

/**
 * Apache Parquet files of an analysis export, written with hyparquet-writer one row group at a
 * time: rows are collected into column arrays until the group holds about PARQUET_GROUP_CELLS
 * cells, the group is encoded (snappy) and its bytes leave before the next group is read, so memory
 * holds one row group whatever the size of the export. The file's footer (schema, row group index)
 * comes last, as Parquet requires.
 */

/**
 * Cells per row group (at least 1,000 rows): 100,000, e.g. 3,500 rows of 28 columns. hyparquet-writer
 * holds several copies of a group while it encodes it (values, dictionary, pages): measured with
 * bench/analysis-bench.ts (300,000 events, 28 columns, a loaded machine), a million cells a group peaked
 * at 561 MB RSS, 250,000 at 444 MB, 100,000 at 360 MB against 340 MB for the tab export of the same data.
 */
export const PARQUET_GROUP_CELLS = 100_000;

export interface ParquetColumn {
  variable: AnalysisVariable;
  stats: ColumnStats;
  /** The column's name in the file (the Stata-legal name, as in tab and CSV files). */
  name: string;
}

type Schema = ConstructorParameters<typeof ParquetWriter>[0]['schema'];
type SchemaElement = Schema[number];

/** How a column is stored: its schema element and the conversion of a cell. */
interface ParquetStorage {
  element: SchemaElement;
  /** Human-readable storage for the readme. */
  type: string;
  convert: (cell: string | null) => string | number | null;
}

const MS_PER_DAY = 86_400_000;

/**
 * The storage of a column. Numbers, dates and date-times are typed (INT32, DOUBLE, DATE,
 * TIMESTAMP_MILLIS) when every value is valid for the type; a column holding a value that is not
 * (text left in a number column by a value type change) stays text, so nothing is lost. Option sets
 * and booleans keep their code as text (Parquet has no value labels; they are in the file's
 * `ferry.value_labels` metadata).
 */
export function parquetStorage(column: ParquetColumn): ParquetStorage {
  const { variable, stats, name } = column;
  const text: ParquetStorage = {
    element: { name, type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
    type: 'string',
    convert: (cell) => cell,
  };
  if (variable.kind === 'string' || variable.codes || stats.invalid > 0) return text;
  switch (variable.kind) {
    case 'integer': {
      const fits = stats.min >= -2_147_483_648 && stats.max <= 2_147_483_647;
      return {
        element: { name, type: fits ? 'INT32' : 'DOUBLE', repetition_type: 'OPTIONAL' },
        type: fits ? 'int32' : 'double',
        convert: (cell) => {
          const value = numericCell(variable, cell, 'stata');
          return typeof value === 'number' ? value : null;
        },
      };
    }
    case 'number':
      return {
        element: { name, type: 'DOUBLE', repetition_type: 'OPTIONAL' },
        type: 'double',
        convert: (cell) => {
          const value = numericCell(variable, cell, 'stata');
          return typeof value === 'number' ? value : null;
        },
      };
    case 'date':
      return {
        element: { name, type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' },
        type: 'date',
        convert: (cell) => {
          const time = cell ? parseAnalysisTime(cell, false) : undefined;
          return time === undefined ? null : Math.round(time / MS_PER_DAY);
        },
      };
    case 'datetime':
      return {
        element: { name, type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'OPTIONAL' },
        type: 'timestamp[ms, UTC]',
        convert: (cell) => {
          const time = cell ? parseAnalysisTime(cell, true) : undefined;
          return time === undefined ? null : time;
        },
      };
  }
}

/** A ByteWriter whose bytes are taken out after every row group instead of growing to the file. */
class ChunkWriter extends ByteWriter {
  readonly chunks: Uint8Array[] = [];

  private take(): void {
    if (this.index === 0) return;
    // A copy: the buffer is reused for the next row group.
    this.chunks.push(new Uint8Array(this.buffer.slice(0, this.index)));
    this.index = 0;
  }

  flush(): void {
    this.take();
  }

  override finish(): void {
    this.take();
  }
}

export interface ParquetFileInput {
  columns: readonly ParquetColumn[];
  rows: () => AsyncIterable<(string | null)[]>;
  /** Written as key-value metadata: the data set, the export's time, labels. */
  title: string;
  created: Date;
  createdBy: string;
}

/** The readme's view of each column: its name, storage and label. */
export function parquetVariables(columns: readonly ParquetColumn[]) {
  return columns.map((c) => ({ name: c.name, type: parquetStorage(c).type, label: c.variable.label }));
}

/** The Parquet file's bytes, one row group at a time. */
export async function* encodeParquet(input: ParquetFileInput): AsyncIterable<Uint8Array> {
  const storages = input.columns.map(parquetStorage);
  const schema: Schema = [{ name: 'root', num_children: storages.length }, ...storages.map((s) => s.element)];
  const valueLabels: Record<string, Record<string, string>> = {};
  for (const { variable, name } of input.columns) {
    if (!variable.codes || !variable.valueLabels) continue;
    const byNumber = new Map(variable.valueLabels.map((l) => [l.value, l.label]));
    valueLabels[name] = Object.fromEntries(
      [...variable.codes].map(([code, number]) => [code, byNumber.get(number) ?? code]),
    );
  }
  const writer = new ChunkWriter();
  const parquet = new ParquetWriter({
    writer,
    schema,
    codec: 'SNAPPY',
    createdBy: input.createdBy,
    kvMetadata: [
      { key: 'ferry.title', value: input.title },
      { key: 'ferry.created', value: input.created.toISOString() },
      {
        key: 'ferry.variable_labels',
        value: JSON.stringify(Object.fromEntries(input.columns.map((c) => [c.name, c.variable.label]))),
      },
      { key: 'ferry.value_labels', value: JSON.stringify(valueLabels) },
    ],
  });
  const groupRows = Math.max(1_000, Math.floor(PARQUET_GROUP_CELLS / Math.max(1, storages.length)));
  let columns: (string | number | null)[][] = storages.map(() => []);
  let count = 0;
  const writeGroup = async () => {
    if (count === 0) return;
    await parquet.write({
      columnData: storages.map((s, i) => ({ name: s.element.name, data: columns[i] })),
      rowGroupSize: count,
    });
    columns = storages.map(() => []);
    count = 0;
  };
  for await (const row of input.rows()) {
    for (let i = 0; i < storages.length; i++) columns[i].push(storages[i].convert(row[i] ?? null));
    count++;
    if (count >= groupRows) {
      await writeGroup();
      yield* writer.chunks.splice(0);
    }
  }
  await writeGroup();
  await parquet.finish();
  yield* writer.chunks.splice(0);
}
