import { escapeXmlAttribute as a, escapeXmlText } from '../xml/xml-escape.ts';
import { ADX_GROUP_ATTRIBUTES, ADX_VALUE_ATTRIBUTES } from './adx-attributes.ts';

export const ADX_NAMESPACE = 'urn:ihe:qrph:adx:2015';

/**
 * Disaggregation as ADX writes it: explicit `category=option` attributes (the default combo has
 * none), or an option combo identifier when the categories can't be attribute names.
 */
export type AdxDisaggregation =
  | { kind: 'options'; pairs: ReadonlyArray<readonly [category: string, option: string]> }
  | { kind: 'combo'; id: string };

/** One value ready for ADX; the export service resolves identifiers and the period's ADX form. */
export interface AdxExportValue {
  dataSet: string;
  orgUnit: string;
  /** `start/duration`, e.g. `2024-01-01/P1M`. */
  period: string;
  attribute: AdxDisaggregation;
  dataElement: string;
  disaggregation: AdxDisaggregation;
  value: string;
  comment: string;
  followUp: boolean;
  deleted: boolean;
}

/** An XML Name usable as an attribute (ADX's category attributes), without a colon. */
const XML_ATTRIBUTE_NAME = /^[A-Za-z_][A-Za-z0-9._-]*$/;
/** Attribute names ADX gives a meaning of its own; a category coded like this can't be unfolded. */
const RESERVED: ReadonlySet<string> = new Set([...ADX_GROUP_ATTRIBUTES, ...ADX_VALUE_ATTRIBUTES]);

/** Whether every category identifier can stand as an ADX attribute name. */
export function canUnfold(categories: readonly string[]): boolean {
  return categories.every(
    (c) => XML_ATTRIBUTE_NAME.test(c) && !RESERVED.has(c) && !c.toLowerCase().startsWith('xml'),
  );
}

/** ADX's value attribute is a decimal; anything else goes in an annotation (value "0"), as DHIS2 does. */
const DECIMAL = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;

function disaggregationAttributes(d: AdxDisaggregation, comboAttribute: string): string {
  if (d.kind === 'combo') return ` ${comboAttribute}="${a(d.id)}"`;
  let out = '';
  for (const [category, option] of d.pairs) out += ` ${category}="${a(option)}"`;
  return out;
}

function groupKey(v: AdxExportValue): string {
  const attribute =
    v.attribute.kind === 'combo' ? `#${v.attribute.id}` : v.attribute.pairs.map((p) => p.join('=')).join('|');
  return `${v.dataSet}\u0000${v.orgUnit}\u0000${v.period}\u0000${attribute}`;
}

/**
 * Writes ADX: one `<group>` per run of values sharing data set, org unit, period and attribute
 * options (the service orders values so that runs are whole), with category codes as attributes.
 * `onValues` is told how many values each piece of text holds, just before it is yielded (once per
 * batch).
 */
export async function* encodeAdx(
  batches: AsyncIterable<readonly AdxExportValue[]>,
  exported: string,
  onValues?: (count: number) => void,
): AsyncIterable<string> {
  yield `<?xml version="1.0" encoding="UTF-8"?>\n<adx xmlns="${ADX_NAMESPACE}" exported="${a(exported)}">\n`;
  let openKey: string | undefined;
  for await (const batch of batches) {
    let out = '';
    for (const v of batch) {
      const key = groupKey(v);
      if (key !== openKey) {
        if (openKey !== undefined) out += '  </group>\n';
        out +=
          `  <group dataSet="${a(v.dataSet)}" orgUnit="${a(v.orgUnit)}" period="${a(v.period)}"` +
          `${disaggregationAttributes(v.attribute, 'attributeOptionCombo')}>\n`;
        openKey = key;
      }
      const numeric = v.value === '' || DECIMAL.test(v.value);
      out +=
        `    <dataValue dataElement="${a(v.dataElement)}"` +
        disaggregationAttributes(v.disaggregation, 'categoryOptionCombo') +
        ` value="${numeric ? a(v.value) : '0'}"` +
        (v.comment !== '' ? ` comment="${a(v.comment)}"` : '') +
        (v.followUp ? ' followup="true"' : '') +
        (v.deleted ? ' deleted="true"' : '') +
        (numeric
          ? '/>\n'
          : `>\n      <annotation>${escapeXmlText(v.value)}</annotation>\n    </dataValue>\n`);
    }
    if (out !== '') {
      onValues?.(batch.length);
      yield out;
    }
  }
  if (openKey !== undefined) yield '  </group>\n';
  yield '</adx>\n';
}
