import { SaxesParser, type SaxesTagPlain } from 'saxes';
import { INPUT_LIMITS, type InputLimits } from '../input/input-limits.ts';
import { InputError } from '../input/input-error.ts';

/** An element read whole: its attributes, its own text (trimmed of nothing) and its children. */
export interface XmlElement {
  /** The qualified name as written (`gml:Polygon`). */
  name: string;
  /** The name without its prefix (`Polygon`); namespaces are not resolved (no URI lookups). */
  localName: string;
  /**
   * Attribute values by qualified name; a null-prototype object. The names `__proto__`,
   * `constructor` and `prototype` are refused (they could reach a prototype if the table is copied
   * with `Object.assign`; no DHIS2 or GML document uses them).
   */
  attributes: Record<string, string>;
  /** The element's direct text and CDATA, concatenated. */
  text: string;
  /** Child elements in document order (a shared frozen empty list when there are none). */
  children: readonly XmlElement[];
  line: number;
  column: number;
}

/** An element above the capture depth, reported when it opens (its text and children are not kept). */
export interface XmlElementStart {
  name: string;
  localName: string;
  attributes: Record<string, string>;
  depth: number;
  line: number;
  column: number;
}

export type XmlEvent =
  | { kind: 'open'; element: XmlElementStart }
  | { kind: 'element'; depth: number; element: XmlElement }
  | { kind: 'close'; name: string; localName: string; depth: number };

export interface XmlReadOptions {
  fileName: string;
  /**
   * Depth (root = 1) at which elements are yielded whole. Shallower elements are reported as
   * `open`/`close`: DXF2 data values are captured at 2 (`<dataValueSet>` opens at 1), ADX values at 3,
   * DXF2 metadata objects at 3, GML feature members at 2.
   */
  captureDepth: number;
  limits?: Partial<InputLimits>;
}

/** Most captured elements (a data value) have no children: they share this empty, frozen list. */
const NO_CHILDREN: XmlElement[] = Object.freeze([]) as unknown as XmlElement[];

/**
 * Streams an XML document with saxes, yielding elements at the capture depth whole and reporting
 * the elements above it. Hostile input is refused with line and column: any DOCTYPE (so no entity
 * is ever declared or expanded, and nothing outside the document is ever read or fetched), a prolog
 * longer than the limit, nesting deeper than the limit, too many attributes, over-long text or
 * tags, and everything saxes finds malformed (undefined entities, duplicate attributes, bad names).
 */
export async function* readXmlEvents(
  text: AsyncIterable<string>,
  options: XmlReadOptions,
): AsyncIterable<XmlEvent> {
  for await (const batch of readXmlEventBatches(text, options)) {
    for (const event of batch) yield event;
  }
}

/** Like `readXmlEvents`, one array per input chunk: far fewer async steps for bulk imports. */
export async function* readXmlEventBatches(
  text: AsyncIterable<string>,
  options: XmlReadOptions,
): AsyncIterable<XmlEvent[]> {
  const reader = new SafeXmlReader(options);
  for await (const chunk of text) {
    const events = reader.write(chunk);
    if (events.length > 0) yield events;
  }
  const last = reader.close();
  if (last.length > 0) yield last;
}

class SafeXmlReader {
  private readonly fileName: string;
  private readonly captureDepth: number;
  private readonly limits: InputLimits;
  private readonly parser: SaxesParser<{ xmlns: false; position: true }>;

  private events: XmlEvent[] = [];
  private depth = 0;
  /** Elements being captured, innermost last. */
  private readonly stack: XmlElement[] = [];
  private capturedTextChars = 0;
  private rootSeen = false;
  /** Stream position of the last tag event: text and tags may not run longer than a line. */
  private lastMarkupPosition = 0;
  private failure: InputError | undefined;
  /** Characters written to saxes (its `position` is only exact inside its handlers). */
  private fed = 0;
  private tagLine = 0;
  private tagStartPosition = 0;
  private tagColumn = 0;

  constructor(options: XmlReadOptions) {
    this.fileName = options.fileName;
    this.captureDepth = options.captureDepth;
    this.limits = { ...INPUT_LIMITS, ...options.limits };
    this.parser = new SaxesParser({ xmlns: false, position: true });
    const parser = this.parser;
    parser.on('doctype', () => {
      // Refused whatever it declares: entities (billion laughs, XXE) live in the DOCTYPE, and
      // nothing of its text is echoed because it may name server files.
      this.fail('a DOCTYPE declaration is not allowed (XML entities and external references are refused)');
    });
    parser.on('opentagstart', (tag) => {
      this.rootSeen = true;
      // Fired just after the name: the element's position is where its '<' stands.
      this.tagLine = parser.line;
      this.tagColumn = parser.column - tag.name.length - 1;
      this.tagStartPosition = parser.position;
    });
    parser.on('opentag', (tag) => this.openTag(tag));
    parser.on('closetag', (tag) => this.closeTag(tag));
    parser.on('text', (value) => this.addText(value));
    parser.on('cdata', (value) => this.addText(value));
    parser.on('error', (error) => {
      // saxes prefixes "line:column: "; it is restated in our own terms.
      const reason = error.message.replace(/^\d+:\d+: /, '');
      this.fail(`malformed XML: ${reason}`);
    });
  }

  write(chunk: string): XmlEvent[] {
    if (!this.rootSeen && this.fed + chunk.length > this.limits.maxXmlPrologChars) {
      // Feed only what the prolog may hold; a longer prolog fails before saxes buffers it.
      const allowed = Math.max(0, this.limits.maxXmlPrologChars - this.fed);
      this.feed(chunk.slice(0, allowed));
      if (!this.rootSeen)
        this.fail(
          `the text before the root element is longer than ${this.limits.maxXmlPrologChars} characters`,
        );
      this.feed(chunk.slice(allowed));
    } else {
      this.feed(chunk);
    }
    if (this.fed - this.lastMarkupPosition > this.limits.maxLineBytes) {
      this.fail(`a text node or tag is longer than ${this.limits.maxLineBytes} characters`);
    }
    return this.takeEvents();
  }

  close(): XmlEvent[] {
    this.run(() => this.parser.close());
    if (!this.rootSeen) this.fail('is empty; expected an XML document');
    return this.takeEvents();
  }

  private feed(text: string): void {
    if (text.length === 0) return;
    this.run(() => this.parser.write(text));
    this.fed += text.length;
  }

  private run(action: () => void): void {
    try {
      action();
    } catch (error) {
      if (error instanceof InputError) throw error;
      throw new InputError(this.fileName, `malformed XML: ${(error as Error).message}`, this.where());
    }
    if (this.failure) throw this.failure;
  }

  private takeEvents(): XmlEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  private where(): { line: number; column: number } {
    return { line: this.parser.line, column: this.parser.column };
  }

  private fail(reason: string): never {
    this.failure ??= new InputError(this.fileName, reason, this.where());
    throw this.failure;
  }

  private openTag(tag: SaxesTagPlain): void {
    this.lastMarkupPosition = this.parser.position;
    this.depth++;
    if (this.depth > this.limits.maxNestingDepth) {
      this.fail(`nesting is deeper than ${this.limits.maxNestingDepth} levels; refused`);
    }
    const attributes = tag.attributes as Record<string, string>;
    if ('__proto__' in attributes || 'constructor' in attributes || 'prototype' in attributes) {
      const name = ['__proto__', 'constructor', 'prototype'].find((key) => key in attributes);
      this.fail(`the attribute name "${name}" is not allowed`);
    }
    // Counting means enumerating; a tag too short to hold the maximum (each attribute takes at
    // least 5 characters: ` a=""`) cannot exceed it, so only long tags are counted.
    if (this.parser.position - this.tagStartPosition > this.limits.maxXmlAttributes * 5) {
      if (Object.keys(attributes).length > this.limits.maxXmlAttributes) {
        this.fail(`element <${tag.name}> has more than ${this.limits.maxXmlAttributes} attributes`);
      }
    }
    const name = tag.name;
    const colon = name.indexOf(':');
    const localName = colon === -1 ? name : name.slice(colon + 1);
    if (this.depth < this.captureDepth) {
      this.events.push({
        kind: 'open',
        element: {
          name,
          localName,
          attributes,
          depth: this.depth,
          line: this.tagLine,
          column: this.tagColumn,
        },
      });
      return;
    }
    const element: XmlElement = {
      name,
      localName,
      attributes,
      text: '',
      children: NO_CHILDREN,
      line: this.tagLine,
      column: this.tagColumn,
    };
    if (this.stack.length > 0) {
      const parent = this.stack[this.stack.length - 1];
      if (parent.children === NO_CHILDREN) parent.children = [element];
      else (parent.children as XmlElement[]).push(element);
    } else {
      this.capturedTextChars = 0;
    }
    this.stack.push(element);
  }

  private closeTag(tag: SaxesTagPlain): void {
    this.lastMarkupPosition = this.parser.position;
    const depth = this.depth--;
    if (depth < this.captureDepth) {
      const name = tag.name;
      const colon = name.indexOf(':');
      this.events.push({
        kind: 'close',
        name,
        localName: colon === -1 ? name : name.slice(colon + 1),
        depth,
      });
      return;
    }
    const element = this.stack.pop();
    if (element && this.stack.length === 0) this.events.push({ kind: 'element', depth, element });
  }

  private addText(value: string): void {
    this.lastMarkupPosition = this.parser.position;
    const current = this.stack[this.stack.length - 1];
    if (current === undefined) return;
    this.capturedTextChars += value.length;
    if (this.capturedTextChars > this.limits.maxLineBytes) {
      this.fail(`the text of one element is longer than ${this.limits.maxLineBytes} characters`);
    }
    current.text += value;
  }
}

/** The first child with this local name (prefix ignored). */
export function childByLocalName(element: XmlElement, localName: string): XmlElement | undefined {
  return element.children.find((child) => child.localName === localName);
}
