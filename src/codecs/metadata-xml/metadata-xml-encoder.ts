import type { SchemaRegistry } from '../../domain/schema/schema-types.ts';

export const DXF2_NAMESPACE = 'http://dhis2.org/schema/dxf/2.0';

/** Identifiable properties DXF2 writes as XML attributes; everything else is a child element. */
const ATTRIBUTE_PROPERTIES = ['id', 'code', 'name', 'created', 'lastUpdated'];

const XML_ESCAPES: Readonly<Record<string, string>> = {
  '<': '&lt;',
  '>': '&gt;',
  '&': '&amp;',
  '"': '&quot;',
  "'": '&apos;',
  // XML parsers normalise CR and CRLF to LF; a character reference keeps a CR as it was.
  '\r': '&#13;',
};

export function escapeXml(text: string): string {
  return text.replace(/[<>&"'\r]/g, (c) => XML_ESCAPES[c]);
}

/**
 * One object as a DXF2 element, driven by the registry: references as `<categoryCombo id=".."/>`,
 * reference lists and embedded lists wrapped in their property element, JSON-valued properties
 * (sharing, translations, style, leftSide) as JSON text (DHIS2's XML had per-class shapes for
 * these; see docs/formats/metadata-xml.md). Properties the registry does not describe are left out,
 * as DHIS2's default `:owner` field selection does, except on types stored whole (favourites), where
 * they are JSON text.
 */
export function objectToXml(
  registry: SchemaRegistry,
  collection: string,
  object: Record<string, unknown>,
): string {
  const schema = registry.byCollection(collection);
  if (!schema) return '';
  const attributes: string[] = [];
  const children: string[] = [];
  for (const name of ATTRIBUTE_PROPERTIES) {
    const value = object[name];
    if (value !== undefined && value !== null && schema.properties.some((p) => p.name === name)) {
      attributes.push(` ${name}="${escapeXml(String(value))}"`);
    }
  }
  for (const property of schema.properties) {
    if (ATTRIBUTE_PROPERTIES.includes(property.name)) continue;
    const value = object[property.name];
    if (value === undefined || value === null) continue;
    const tag = property.name;
    switch (property.kind) {
      case 'reference':
        children.push(referenceToXml(registry, property.target!, tag, value));
        break;
      case 'references': {
        if (!Array.isArray(value)) break;
        const item = registry.byCollection(property.target!)?.singular ?? 'item';
        children.push(
          `<${tag}>${value.map((r) => referenceToXml(registry, property.target!, item, r)).join('')}</${tag}>`,
        );
        break;
      }
      case 'embeddedList': {
        if (!Array.isArray(value)) break;
        const item = registry.byCollection(property.itemSchema!)?.singular ?? 'item';
        const inner = value
          .map((v) =>
            objectToXml(registry, property.itemSchema!, v as Record<string, unknown>)
              .replace(/^<\w+/, `<${item}`)
              .replace(/<\/\w+>$/, `</${item}>`),
          )
          .join('');
        children.push(`<${tag}>${inner}</${tag}>`);
        break;
      }
      case 'embedded':
        children.push(
          objectToXml(registry, property.itemSchema!, value as Record<string, unknown>)
            .replace(/^<\w+/, `<${tag}`)
            .replace(/<\/\w+>$/, `</${tag}>`),
        );
        break;
      case 'stringList':
        if (Array.isArray(value)) {
          const item = tag.endsWith('s') ? tag.slice(0, -1) : `${tag}Item`;
          children.push(
            `<${tag}>${value.map((v) => `<${item}>${escapeXml(String(v))}</${item}>`).join('')}</${tag}>`,
          );
        }
        break;
      case 'json':
      case 'geometry':
        children.push(`<${tag}>${escapeXml(JSON.stringify(value))}</${tag}>`);
        break;
      default:
        children.push(`<${tag}>${escapeXml(String(value))}</${tag}>`);
    }
  }
  if (schema.storedWhole) {
    // Properties the registry does not describe (a chart's dimensions and options), as JSON text:
    // the decoder reads them back as JSON for these types, so the object round-trips whole.
    const described = new Set(schema.properties.map((p) => p.name));
    for (const [name, value] of Object.entries(object)) {
      if (described.has(name) || value === undefined || !/^[A-Za-z_][\w.-]*$/.test(name)) continue;
      children.push(`<${name}>${escapeXml(JSON.stringify(value))}</${name}>`);
    }
  }
  const singular = schema.singular;
  return `<${singular}${attributes.join('')}>${children.join('')}</${singular}>`;
}

/**
 * A reference as `<tag id=".."/>`; a reference a nested field selection expanded
 * (`categoryCombo[id,name,categories[id]]`) as an element of the target type, named `tag`.
 */
function referenceToXml(registry: SchemaRegistry, target: string, tag: string, value: unknown): string {
  const expanded =
    value !== null && typeof value === 'object' && Object.keys(value).some((key) => key !== 'id');
  if (!expanded) return `<${tag}${referenceAttributes(value)}/>`;
  return objectToXml(registry, target, value as Record<string, unknown>)
    .replace(/^<\w+/, `<${tag}`)
    .replace(/<\/\w+>$/, `</${tag}>`);
}

function referenceAttributes(value: unknown): string {
  const ref = (value ?? {}) as { id?: unknown; code?: unknown };
  let out = '';
  if (ref.id !== undefined) out += ` id="${escapeXml(String(ref.id))}"`;
  if (ref.code !== undefined && ref.id === undefined) out += ` code="${escapeXml(String(ref.code))}"`;
  return out;
}
