/**
 * What every data value decoder (JSON, XML, CSV, ADX, PDF) produces, before any identifier is
 * resolved: the file's own strings, with where they came from so a conflict can name the row.
 */
export interface DataValueInput {
  dataElement?: string;
  period?: string;
  orgUnit?: string;
  categoryOptionCombo?: string;
  attributeOptionCombo?: string;
  /** ADX (and DHIS2 2.43 JSON): disaggregation by category → option instead of an option combo. */
  categoryOptions?: Record<string, string>;
  attributeOptions?: Record<string, string>;
  /** `null` when the file sends an empty value (a delete). */
  value?: string | null;
  /**
   * ADX: the text of the value's `<annotation>`. As DHIS2 2.42, it is the value of a non-numeric
   * data element (whose `value` attribute is a placeholder) and ignored for a numeric one.
   */
  annotation?: string;
  storedBy?: string;
  created?: string;
  lastUpdated?: string;
  comment?: string;
  /** Raw text ("true", "false", ...) or a boolean from JSON; both spellings followup/followUp accepted. */
  followUp?: string | boolean;
  deleted?: string | boolean;
}

/** Set-level defaults and id schemes a file can carry (DXF2 root attributes, JSON root properties). */
export interface DataValueSetHeader {
  dataSet?: string;
  completeDate?: string;
  period?: string;
  orgUnit?: string;
  attributeOptionCombo?: string;
  /** ADX: the group's category → option attributes, naming its attribute option combo. */
  attributeOptions?: Record<string, string>;
  dryRun?: boolean;
  idScheme?: string;
  dataSetIdScheme?: string;
  dataElementIdScheme?: string;
  orgUnitIdScheme?: string;
  categoryOptionComboIdScheme?: string;
  attributeOptionComboIdScheme?: string;
  categoryIdScheme?: string;
  categoryOptionIdScheme?: string;
}

/** Where in the file an item came from; `index` is the 0-based position of the value in the file. */
export interface SourcePosition {
  index: number;
  line?: number;
  column?: number;
}

/**
 * A decoder's stream: headers, values, and issues (a malformed row is an issue, not a crash; a fatal
 * issue ends the stream, and the importer reports one that names a `property` as an aborted
 * import's conflict). A header replaces the one before it. With `group: true` it starts a data
 * value set of its own (an ADX `<group>`); otherwise it refines the set in force (a JSON file's root
 * properties arrive one at a time, each as a header with everything read so far).
 */
export type DataValueItem =
  | { kind: 'header'; header: DataValueSetHeader; group?: boolean }
  | { kind: 'value'; position: SourcePosition; value: DataValueInput }
  | { kind: 'issue'; position?: SourcePosition; message: string; fatal?: boolean; property?: string };
