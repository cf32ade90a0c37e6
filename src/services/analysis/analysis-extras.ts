import { FerryError, parseBooleanParameter } from '../../errors.ts';

/**
 * What an analysis export carries besides its data files, each on request (Survey Solutions' "data
 * type" and "include meta"): `metadata` (DDI codebook, the DHIS2 definition, questionnaire PDFs;
 * analysis-metadata.ts), `paradata` (the audit trail of the exported records; analysis-paradata.ts)
 * and `binary` (FILE_RESOURCE and IMAGE values as files), each `true` or `false` (default false).
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

/** The extras asked for; 400 F1000 for a value other than true/false, or for binary data (not kept). */
export function parseAnalysisExtras(params: Record<string, unknown>): AnalysisExtras {
  const extras: AnalysisExtras = {
    metadata: parseBooleanParameter('metadata', single(params, 'metadata')),
    paradata: parseBooleanParameter('paradata', single(params, 'paradata')),
    binary: parseBooleanParameter('binary', single(params, 'binary')),
  };
  if (extras.binary) {
    // Ferry keeps FILE_RESOURCE and IMAGE values as the file resource's UID only: it has no
    // /api/fileResources storage, so there are no files to put in the archive. Refused rather than
    // delivering an archive that silently lacks them.
    throw new FerryError('F1000', [
      'binary',
      'true',
      'false: this server stores no file resources (FILE_RESOURCE and IMAGE values are kept as UIDs only), so there are no binary files to export',
    ]);
  }
  return extras;
}

/** "; with metadata and paradata" for the card and readme, or ''. */
export function describeAnalysisExtras(extras: AnalysisExtras): string {
  const parts = [extras.metadata ? 'metadata' : '', extras.paradata ? 'paradata' : ''].filter(Boolean);
  return parts.length > 0 ? `; with ${parts.join(' and ')}` : '';
}
