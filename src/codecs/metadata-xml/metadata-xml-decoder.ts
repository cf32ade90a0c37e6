import { SaxesParser, type SaxesTag } from 'saxes';
import type { PropertyDescriptor, SchemaRegistry } from '../../domain/schema/schema-types.ts';
import { InputError } from '../input/input-error.ts';
import { INPUT_LIMITS } from '../input/input-limits.ts';
import { parseJsonText } from '../json/safe-json-reader.ts';
import type { MetadataItem } from '../metadata-json/metadata-json-decoder.ts';

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
 * DHIS2 dropped in 2.39. One object per collection item is built and yielded as soon as its element
 * closes. The registry says how each child element maps to a property (reference, list, embedded
 * object, scalar). A DOCTYPE is refused outright: no entity can be declared, so none is expanded.
 */
export async function* decodeMetadataXml(
  text: AsyncIterable<string>,
  fileName: string,
  registry: SchemaRegistry,
): AsyncIterable<MetadataItem> {
  const parser = new SaxesParser({ position: true });
  const stack: XmlNode[] = [];
  const ready: MetadataItem[] = [];
  const indexes = new Map<string, number>();
  let failure: Error | undefined;
  const fail = (reason: string): never => {
    throw new InputError(fileName, reason, { line: parser.line, column: parser.column + 1 });
  };
  parser.on('doctype', () => fail('a DOCTYPE or entity declaration is not allowed in metadata XML'));
  parser.on('error', (error) => {
    failure ??= new InputError(fileName, error.message.replace(/^\S*:\d+:\d+: /, ''), {
      line: parser.line,
      column: parser.column + 1,
    });
  });
  parser.on('opentag', (tag: SaxesTag) => {
    if (stack.length >= INPUT_LIMITS.maxNestingDepth)
      fail(`nesting deeper than ${INPUT_LIMITS.maxNestingDepth} levels`);
    const name = localName(tag.name);
    if (stack.length === 0 && name !== 'metadata')
      fail(`the root element must be <metadata>, not <${tag.name}>`);
    const attributes: Record<string, string> = {};
    for (const [key, value] of Object.entries(tag.attributes as Record<string, string>)) {
      if (key === 'xmlns' || key.startsWith('xmlns:')) continue;
      attributes[localName(key)] = String(value);
    }
    const node: XmlNode = { name, attributes, children: [], text: '', line: parser.line };
    stack[stack.length - 1]?.children.push(node);
    stack.push(node);
  });
  parser.on('text', (value) => {
    const top = stack[stack.length - 1];
    if (!top) return;
    if (top.text.length + value.length > INPUT_LIMITS.maxLineBytes)
      fail('a text node is longer than the limit');
    top.text += value;
  });
  parser.on('cdata', (value) => {
    const top = stack[stack.length - 1];
    if (top) top.text += value;
  });
  parser.on('closetag', () => {
    const node = stack.pop()!;
    if (stack.length === 2) {
      const wrapper = stack[1];
      const collection = wrapper.name;
      // DHIS2 exports carry a <system> block (and JSON a `date`); import ignores them.
      if (collection === 'system' || collection === 'date') {
        wrapper.children.length = 0;
        return;
      }
      const schema = registry.byCollection(collection);
      const index = indexes.get(collection) ?? 0;
      indexes.set(collection, index + 1);
      const object = schema
        ? elementToObject(registry, collection, node, fileName)
        : genericObject(node, fileName);
      ready.push({ collection, index, object, line: node.line });
      wrapper.children.length = 0;
    } else if (stack.length === 1) {
      stack[0].children.length = 0;
    }
  });

  for await (const chunk of text) {
    parser.write(chunk);
    if (failure) throw failure;
    yield* ready.splice(0);
  }
  parser.close();
  if (failure) throw failure;
  yield* ready.splice(0);
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
      set(child.name, child.children.length === 0 ? child.text : genericObject(child, fileName));
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
