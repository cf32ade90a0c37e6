import type { PropertyDescriptor, SchemaRegistry } from '../../domain/schema/schema-types.ts';
import { InputError } from '../input/input-error.ts';
import { parseJsonText } from '../json/safe-json-reader.ts';
import { readXmlEventBatches, type XmlElement } from '../xml/safe-xml-reader.ts';
import type { MetadataItem } from '../metadata-json/metadata-json-decoder.ts';

/** An element with prefixes dropped from its name and attribute names, namespace declarations removed. */
interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  text: string;
  line: number;
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * Reads DHIS2's DXF2 XML (`<metadata><dataElements><dataElement id=".." name="..">...`), the format
 * DHIS2 dropped in 2.39, through the shared safe XML reader (DOCTYPE refused, depth, attribute and
 * text limits, line and column). One object per collection item is built and yielded as soon as its
 * element closes. The registry says how each child element maps to a property (reference, list,
 * embedded object, scalar).
 */
export async function* decodeMetadataXml(
  text: AsyncIterable<string>,
  fileName: string,
  registry: SchemaRegistry,
): AsyncIterable<MetadataItem> {
  const indexes = new Map<string, number>();
  // <metadata> at depth 1, collection wrappers (<dataElements>) at 2, objects captured whole at 3.
  let collection = '';
  for await (const events of readXmlEventBatches(text, { fileName, captureDepth: 3 })) {
    const ready: MetadataItem[] = [];
    for (const event of events) {
      if (event.kind === 'close') continue;
      if (event.kind === 'open') {
        const { depth, localName, name, line, column } = event.element;
        if (depth === 1 && localName !== 'metadata') {
          throw new InputError(fileName, `the root element must be <metadata>, not <${name}>`, {
            line,
            column,
          });
        }
        if (depth === 2) collection = localName;
        continue;
      }
      // DHIS2 exports carry a <system> block (and JSON a `date`); import ignores them.
      if (collection === 'system' || collection === 'date') continue;
      const node = toNode(event.element);
      const index = indexes.get(collection) ?? 0;
      indexes.set(collection, index + 1);
      const object = registry.byCollection(collection)
        ? elementToObject(registry, collection, node, fileName)
        : genericObject(node, fileName);
      ready.push({ collection, index, object, line: node.line });
    }
    yield* ready;
  }
}

function toNode(element: XmlElement): XmlNode {
  // Null prototype: a prefixed `x:__proto__` becomes an own key here, which elementToObject refuses.
  const attributes = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(element.attributes)) {
    if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
    attributes[localName(key)] = value;
  }
  return {
    name: element.localName,
    attributes,
    children: element.children.map(toNode),
    text: element.text,
    line: element.line,
  };
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}

function elementToObject(
  registry: SchemaRegistry,
  collection: string,
  node: XmlNode,
  fileName: string,
): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  const set = (key: string, value: unknown) => {
    if (FORBIDDEN_KEYS.has(key)) {
      throw new InputError(fileName, `element or attribute \`${key}\` is not allowed`, { line: node.line });
    }
    if (Object.hasOwn(object, key)) {
      throw new InputError(fileName, `\`${key}\` is given twice in <${node.name}>`, { line: node.line });
    }
    object[key] = value;
  };
  for (const [key, value] of Object.entries(node.attributes)) {
    const property = registry.property(collection, key);
    set(key, property ? scalar(property, value, fileName, node.line) : value);
  }
  for (const child of node.children) {
    const property = registry.property(collection, child.name);
    if (!property) {
      const leaf = child.children.length === 0;
      set(
        child.name,
        leaf && registry.byCollection(collection)?.storedWhole
          ? jsonOrText(child.text, fileName, child.line)
          : leaf
            ? child.text
            : genericObject(child, fileName),
      );
      continue;
    }
    switch (property.kind) {
      case 'reference':
        set(child.name, referenceOf(child));
        break;
      case 'references':
        set(child.name, child.children.map(referenceOf));
        break;
      case 'embedded':
        set(child.name, elementToObject(registry, property.itemSchema!, child, fileName));
        break;
      case 'embeddedList':
        set(
          child.name,
          child.children.map((item) => elementToObject(registry, property.itemSchema!, item, fileName)),
        );
        break;
      case 'stringList':
        set(
          child.name,
          child.children.map((item) => item.text),
        );
        break;
      default:
        set(child.name, scalar(property, child.text, fileName, child.line));
    }
  }
  return object;
}

function referenceOf(node: XmlNode): Record<string, unknown> {
  const ref: Record<string, unknown> = {};
  if (node.attributes.id !== undefined) ref.id = node.attributes.id;
  if (node.attributes.code !== undefined) ref.code = node.attributes.code;
  for (const child of node.children)
    if (child.name === 'id' || child.name === 'code') ref[child.name] = child.text;
  return ref;
}

function scalar(property: PropertyDescriptor, text: string, fileName: string, line: number): unknown {
  switch (property.kind) {
    case 'integer':
    case 'number': {
      const n = Number(text.trim());
      return text.trim() !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      return text.trim() === 'true' ? true : text.trim() === 'false' ? false : text;
    case 'json':
    case 'geometry':
      return text.trim() === ''
        ? null
        : parseJsonText(text.trim(), { fileName, numbers: 'double', firstLine: line });
    default:
      return text;
  }
}

/**
 * An undescribed leaf of a type stored whole: the JSON text Ferry's encoder writes for it, or (a
 * file from elsewhere) the text itself when it is not JSON.
 */
function jsonOrText(text: string, fileName: string, line: number): unknown {
  const trimmed = text.trim();
  if (!/^[[{"]/.test(trimmed) && !/^(-?\d|true$|false$|null$)/.test(trimmed)) return text;
  try {
    return parseJsonText(trimmed, { fileName, numbers: 'double', firstLine: line });
  } catch {
    return text;
  }
}

/** An element the registry does not describe: attributes and children as strings and objects. */
function genericObject(node: XmlNode, fileName: string): Record<string, unknown> {
  const object: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node.attributes)) {
    if (FORBIDDEN_KEYS.has(key))
      throw new InputError(fileName, `attribute \`${key}\` is not allowed`, { line: node.line });
    object[key] = value;
  }
  for (const child of node.children) {
    if (FORBIDDEN_KEYS.has(child.name)) {
      throw new InputError(fileName, `element \`${child.name}\` is not allowed`, { line: child.line });
    }
    object[child.name] =
      child.children.length === 0 && Object.keys(child.attributes).length === 0
        ? child.text
        : genericObject(child, fileName);
  }
  return object;
}
