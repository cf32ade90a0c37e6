import { FerryError, parseBooleanParameter } from '../../errors.ts';

/**
 * What an analysis export carries besides its data files, each on request (Survey Solutions' "data
 * type" and "include meta"): `metadata` (DDI codebook, the DHIS2 definition, questionnaire PDFs;
 * analysis-metadata.ts), `paradata` (the audit trail of the exported records; analysis-paradata.ts)
 * and `binary` (FILE_RESOURCE and IMAGE values as files; analysis-binary.ts), each `true` or `false` (default false).
 */
export const ANALYSIS_EXTRA_PARAMETERS = ['metadata', 'paradata', 'binary'] as const;

export interface AnalysisExtras {
  metadata: boolean;
  paradata: boolean;
  binary: boolean;
}

function single(params: Record<string, unknown>, name: string): unknown {
  const value = params[name];
  if (Array.isArray(value)) {
    if (value.length > 1) throw new FerryError('F1000', [name, value.join(','), 'one of true, false']);
    return value[0];
  }
  return value;
}

/** The extras asked for; 400 F1000 for a value other than true/false. */
export function parseAnalysisExtras(params: Record<string, unknown>): AnalysisExtras {
  return {
    metadata: parseBooleanParameter('metadata', single(params, 'metadata')),
    paradata: parseBooleanParameter('paradata', single(params, 'paradata')),
    binary: parseBooleanParameter('binary', single(params, 'binary')),
  };
}

/**
 * Binary files are kept for tracker data only (file resources, /api/fileResources) and exported for
 * programs (analysis-binary.ts): 400 F1000 for `binary=true` on anything else (`what`).
 */
export function refuseBinaryExtra(extras: AnalysisExtras | undefined, what: string): void {
  if (!extras?.binary) return;
  throw new FerryError('F1000', [
    'binary',
    'true',
    `false for ${what}: FILE_RESOURCE and IMAGE files are exported for programs only`,
  ]);
}

/** "; with metadata and paradata" for the card and readme, or ''. */
export function describeAnalysisExtras(extras: AnalysisExtras): string {
  const parts = [
    extras.metadata ? 'metadata' : '',
    extras.paradata ? 'paradata' : '',
    extras.binary ? 'binary files' : '',
  ].filter(Boolean);
  if (parts.length === 0) return '';
  return `; with ${parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}` : parts[0]}`;
}
