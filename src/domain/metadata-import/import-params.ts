/** DHIS2's metadata import parameters, each a closed set with its default first. */
export const IMPORT_MODES = ['COMMIT', 'VALIDATE'] as const;
export const IMPORT_IDENTIFIERS = ['UID', 'CODE', 'AUTO'] as const;
export const IMPORT_STRATEGIES = ['CREATE_AND_UPDATE', 'CREATE', 'UPDATE', 'DELETE'] as const;
export const ATOMIC_MODES = ['ALL', 'NONE'] as const;
export const MERGE_MODES = ['REPLACE', 'MERGE'] as const;
export const IMPORT_REPORT_MODES = ['ERRORS', 'FULL', 'DEBUG'] as const;
export const PREHEAT_MODES = ['REFERENCE', 'ALL', 'NONE'] as const;
export const FLUSH_MODES = ['AUTO', 'OBJECT'] as const;
export const METADATA_FORMATS = ['json', 'xml', 'csv'] as const;

export type ImportMode = (typeof IMPORT_MODES)[number];
export type ImportIdentifier = (typeof IMPORT_IDENTIFIERS)[number];
export type ImportStrategy = (typeof IMPORT_STRATEGIES)[number];
export type AtomicMode = (typeof ATOMIC_MODES)[number];
export type MergeMode = (typeof MERGE_MODES)[number];
export type ImportReportMode = (typeof IMPORT_REPORT_MODES)[number];
export type PreheatMode = (typeof PREHEAT_MODES)[number];
export type FlushMode = (typeof FLUSH_MODES)[number];
export type MetadataFormat = (typeof METADATA_FORMATS)[number];

export interface MetadataImportParams {
  importMode: ImportMode;
  identifier: ImportIdentifier;
  importStrategy: ImportStrategy;
  atomicMode: AtomicMode;
  mergeMode: MergeMode;
  importReportMode: ImportReportMode;
  preheatMode: PreheatMode;
  flushMode: FlushMode;
  skipSharing: boolean;
  skipValidation: boolean;
  async: boolean;
  /** CSV only: DHIS2's class key (ORGANISATION_UNIT, DATA_ELEMENT, ...). */
  classKey?: string;
  /** CSV only. */
  firstRowIsHeader: boolean;
  /** The body's format; taken from the content type or file name when not given. */
  format?: MetadataFormat;
}

export const DEFAULT_IMPORT_PARAMS: MetadataImportParams = {
  importMode: 'COMMIT',
  identifier: 'UID',
  importStrategy: 'CREATE_AND_UPDATE',
  atomicMode: 'ALL',
  mergeMode: 'REPLACE',
  importReportMode: 'ERRORS',
  preheatMode: 'REFERENCE',
  flushMode: 'AUTO',
  skipSharing: false,
  skipValidation: false,
  async: false,
  firstRowIsHeader: true,
};

/** Sharing-related properties, left alone on update and dropped on create under `skipSharing`. */
export const SHARING_PROPERTIES = [
  'sharing',
  'publicAccess',
  'userGroupAccesses',
  'userAccesses',
  'externalAccess',
];
