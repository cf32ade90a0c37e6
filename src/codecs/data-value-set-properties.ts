import type { DataValueInput, DataValueSetHeader } from '../domain/data-values/data-value-input.ts';

/**
 * The text properties of a data value set's header: DXF2 XML root attributes and JSON root
 * properties alike (`dryRun`, a boolean, is read on its own).
 */
export const DATA_VALUE_SET_HEADER_PROPERTIES = [
  'dataSet',
  'completeDate',
  'period',
  'orgUnit',
  'attributeOptionCombo',
  'idScheme',
  'dataSetIdScheme',
  'dataElementIdScheme',
  'orgUnitIdScheme',
  'categoryOptionComboIdScheme',
  'attributeOptionComboIdScheme',
  'categoryIdScheme',
  'categoryOptionIdScheme',
] as const satisfies ReadonlyArray<keyof DataValueSetHeader>;

/**
 * Sets the value, follow-up and deletion flags of an XML `<dataValue>` (DXF2 and ADX) on `input`.
 * `value` is the element's value text (ADX may take it from an annotation); an empty one is null, a delete.
 */
export function readValueAndFlagAttributes(
  attributes: Readonly<Record<string, string>>,
  value: string | undefined,
  input: DataValueInput,
): void {
  input.value = value === undefined || value === '' ? null : value;
  // DXF2 and ADX spell it followUp; DHIS2's older writers and JSON habits give followup.
  const followUp = attributes.followUp ?? attributes.followup;
  if (followUp !== undefined) input.followUp = followUp;
  if (attributes.deleted !== undefined) input.deleted = attributes.deleted;
}
