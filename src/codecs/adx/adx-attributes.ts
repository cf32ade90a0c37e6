/** `<group>` attributes with a meaning of their own; any other attribute is a category of the attribute combo. */
export const ADX_GROUP_ATTRIBUTES: ReadonlySet<string> = new Set([
  'dataSet',
  'orgUnit',
  'period',
  'completeDate',
  'attributeOptionCombo',
]);

/** `<dataValue>` attributes with a meaning of their own; any other is a category of the element's combo. */
export const ADX_VALUE_ATTRIBUTES: ReadonlySet<string> = new Set([
  'dataElement',
  'value',
  'categoryOptionCombo',
  'comment',
  'followup',
  'followUp',
  'deleted',
  'storedBy',
  'created',
  'lastUpdated',
]);
