import {
  INVALID_VALUE_LABEL,
  legalVariableName,
  numericCell,
  SPSS_INVALID_CODE,
  type AnalysisVariable,
} from '../../domain/analysis/analysis-variables.ts';
import {
  encodeStata,
  STATA_MAX_STR,
  type StataCell,
  type StataVariable,
} from '../../codecs/stata/stata-encoder.ts';
import {
  encodeSpss,
  SPSS_MAX_STRING,
  type SpssCell,
  type SpssVariable,
} from '../../codecs/spss/spss-encoder.ts';
import { encodeDelimited } from '../../codecs/tab/tab-encoder.ts';
import type { AnalysisSpool, ColumnStats, SpooledRow } from './analysis-table.ts';
import { encodeParquet, parquetVariables } from './analysis-parquet.ts';

/** The file formats of an analysis export. */
export const ANALYSIS_FORMATS = ['tab', 'stata', 'spss', 'csv', 'parquet'] as const;
export type AnalysisFormat = (typeof ANALYSIS_FORMATS)[number];

const EXTENSIONS: Record<AnalysisFormat, string> = {
  tab: 'tab',
  csv: 'csv',
  stata: 'dta',
  spss: 'sav',
  parquet: 'parquet',
};

export interface AnalysisFileInput {
  stem: string;
  label: string;
  created: Date;
  /** The spooled cells' variables: three org unit columns, then (after the levels) the rest. */
  cellVariables: readonly AnalysisVariable[];
  levelNames: ReadonlyMap<number, string>;
  spool: AnalysisSpool;
}

export interface AnalysisFile {
  stem: string;
  extension: string;
  /** For the readme: each variable's name in the file, its storage and its label. */
  variables: { name: string; type: string; label: string }[];
  /** What each of `variables` was made from (kind, value labels, description): for the DDI codebook. */
  sources: readonly AnalysisVariable[];
  /** Per variable, the declared missing value "not a valid value" when the file has one (Stata `.a`, SPSS -999999999). */
  declaredMissing?: readonly (string | undefined)[];
  bytes: () => AsyncIterable<string | Uint8Array>;
}

/** Org unit columns before the level names. */
const LEVELS_AT = 3;

interface Column {
  variable: AnalysisVariable;
  stats: ColumnStats;
  name: string;
}

/** The file's columns: the spooled cells with one column per org unit level spliced in. */
function columns(input: AnalysisFileInput, format: 'stata' | 'spss'): Column[] {
  const { cellVariables, spool } = input;
  const levels: { variable: AnalysisVariable; stats: ColumnStats }[] = spool.levelStats.map((stats, i) => ({
    variable: {
      name: `orgunit_level${i + 1}`,
      label: `${input.levelNames.get(i + 1) ?? `Level ${i + 1}`} (organisation unit level ${i + 1})`,
      kind: 'string',
    },
    stats,
  }));
  const cells = cellVariables.map((variable, i) => ({ variable, stats: spool.cellStats[i] }));
  const all = [...cells.slice(0, LEVELS_AT), ...levels, ...cells.slice(LEVELS_AT)];
  const taken = new Set<string>();
  return all.map((c) => ({ ...c, name: legalVariableName(c.variable.name, format, taken) }));
}

/** A spooled row in file column order: levels padded to the deepest org unit. */
function expand(row: SpooledRow, levelCount: number): (string | null)[] {
  const [levels, ...cells] = row;
  const padded: (string | null)[] = Array.from({ length: levelCount }, (_, i) => levels[i] ?? null);
  return [...cells.slice(0, LEVELS_AT), ...padded, ...cells.slice(LEVELS_AT)];
}

async function* expanded(spool: AnalysisSpool): AsyncIterable<(string | null)[]> {
  for await (const row of spool.rows()) yield expand(row, spool.levelStats.length);
}

const isNumeric = (variable: AnalysisVariable) => variable.kind !== 'string' || variable.codes !== undefined;

function stataFile(input: AnalysisFileInput): AnalysisFile {
  const cols = columns(input, 'stata');
  const variables: StataVariable[] = [];
  const valueLabelSets: { name: string; entries: { value: number | string; label: string }[] }[] = [];
  for (const { variable, stats, name } of cols) {
    if (!isNumeric(variable)) {
      const width = Math.max(1, stats.maxBytes);
      variables.push({
        name,
        label: variable.label,
        storage: width > STATA_MAX_STR ? { type: 'strL' } : { type: 'str', width },
        format: width > STATA_MAX_STR ? '%9s' : `%${width}s`,
      });
      continue;
    }
    const entries: { value: number | string; label: string }[] = (variable.valueLabels ?? []).map((l) => ({
      ...l,
    }));
    if (stats.invalid > 0) entries.push({ value: 'a', label: INVALID_VALUE_LABEL });
    if (entries.length > 0) valueLabelSets.push({ name, entries });
    // long holds whole numbers up to 2,147,483,620 (larger codes are Stata's missing values).
    const fitsLong = stats.min >= -2_147_483_647 && stats.max <= 2_147_483_620;
    const storage =
      variable.kind === 'date' || (variable.kind === 'integer' && fitsLong)
        ? { type: 'long' as const }
        : { type: 'double' as const };
    variables.push({
      name,
      label: variable.label,
      storage,
      format:
        variable.kind === 'date'
          ? '%td'
          : variable.kind === 'datetime'
            ? '%tc'
            : storage.type === 'long'
              ? '%12.0g'
              : '%10.0g',
      ...(entries.length > 0 ? { valueLabels: name } : {}),
    });
  }
  return {
    stem: legalVariableName(input.stem, 'stata', new Set()),
    extension: EXTENSIONS.stata,
    variables: variables.map((v, i) => ({
      name: v.name,
      type: `${v.storage.type === 'str' ? `str${v.storage.width}` : v.storage.type}${v.format.startsWith('%t') ? ` ${v.format}` : ''}`,
      label: cols[i].variable.label,
    })),
    sources: cols.map((c) => c.variable),
    declaredMissing: cols.map((c) => (isNumeric(c.variable) && c.stats.invalid > 0 ? '.a' : undefined)),
    bytes: () =>
      encodeStata({
        label: input.label,
        timestamp: input.created,
        variables,
        valueLabelSets,
        rowCount: input.spool.rowCount,
        rows: async function* () {
          for await (const row of expanded(input.spool)) {
            yield row.map((cell, i): StataCell => {
              const variable = cols[i].variable;
              if (!isNumeric(variable)) return cell ?? '';
              const value = numericCell(variable, cell, 'stata');
              return value === 'invalid' ? 'a' : value;
            });
          }
        },
      }),
  };
}

function spssFile(input: AnalysisFileInput): AnalysisFile {
  const cols = columns(input, 'spss');
  const variables: SpssVariable[] = cols.map(({ variable, stats, name }) => {
    if (!isNumeric(variable)) {
      return {
        name,
        label: variable.label,
        width: Math.min(SPSS_MAX_STRING, Math.max(1, stats.maxBytes)),
        format: 'A',
      };
    }
    const valueLabels = [...(variable.valueLabels ?? [])];
    if (stats.invalid > 0) valueLabels.push({ value: SPSS_INVALID_CODE, label: INVALID_VALUE_LABEL });
    return {
      name,
      label: variable.label,
      width: 0,
      format: variable.kind === 'date' ? 'DATE' : variable.kind === 'datetime' ? 'DATETIME' : 'F',
      decimals: variable.kind === 'number' ? 2 : 0,
      ...(stats.invalid > 0 ? { missing: [SPSS_INVALID_CODE] } : {}),
      ...(valueLabels.length > 0 ? { valueLabels } : {}),
    };
  });
  return {
    stem: legalVariableName(input.stem, 'spss', new Set()),
    extension: EXTENSIONS.spss,
    variables: variables.map((v, i) => ({
      name: v.name,
      type:
        v.width > 0 ? `A${v.width}` : v.format === 'F' ? `F${v.decimals ? `.${v.decimals}` : ''}` : v.format,
      label: cols[i].variable.label,
    })),
    sources: cols.map((c) => c.variable),
    declaredMissing: cols.map((c) =>
      isNumeric(c.variable) && c.stats.invalid > 0 ? String(SPSS_INVALID_CODE) : undefined,
    ),
    bytes: () =>
      encodeSpss({
        label: input.label,
        created: input.created,
        variables,
        rowCount: input.spool.rowCount,
        rows: async function* () {
          for await (const row of expanded(input.spool)) {
            yield row.map((cell, i): SpssCell => {
              const variable = cols[i].variable;
              if (!isNumeric(variable)) return cell ?? '';
              const value = numericCell(variable, cell, 'spss');
              return value === 'invalid' ? SPSS_INVALID_CODE : value;
            });
          }
        },
      }),
  };
}

function delimitedFile(kind: 'tab' | 'csv', input: AnalysisFileInput): AnalysisFile {
  const cols = columns(input, 'stata');
  return {
    stem: legalVariableName(input.stem, 'stata', new Set()),
    extension: EXTENSIONS[kind],
    variables: cols.map((c) => ({ name: c.name, type: c.variable.kind, label: c.variable.label })),
    sources: cols.map((c) => c.variable),
    bytes: () =>
      encodeDelimited(
        kind,
        cols.map((c) => c.name),
        expanded(input.spool),
      ),
  };
}

/** Parquet (analysis-parquet.ts): the tab file's names, typed columns. */
function parquetFile(input: AnalysisFileInput): AnalysisFile {
  const cols = columns(input, 'stata');
  return {
    stem: legalVariableName(input.stem, 'stata', new Set()),
    extension: EXTENSIONS.parquet,
    variables: parquetVariables(cols),
    sources: cols.map((c) => c.variable),
    bytes: () =>
      encodeParquet({
        columns: cols,
        rows: () => expanded(input.spool),
        title: input.label,
        created: input.created,
        createdBy: 'Ferry',
      }),
  };
}

/** The data file of one table in `format`. */
export function analysisFile(format: AnalysisFormat, input: AnalysisFileInput): AnalysisFile {
  switch (format) {
    case 'stata':
      return stataFile(input);
    case 'spss':
      return spssFile(input);
    case 'tab':
    case 'csv':
      return delimitedFile(format, input);
    case 'parquet':
      return parquetFile(input);
  }
}
