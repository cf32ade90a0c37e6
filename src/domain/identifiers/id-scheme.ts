import { isValidUid } from './uid.ts';

export const SIMPLE_ID_SCHEMES = ['UID', 'CODE', 'NAME'] as const;
export type SimpleIdScheme = (typeof SIMPLE_ID_SCHEMES)[number];

/** An identifier scheme: how a reference in a file names an object. */
export type IdScheme = { kind: SimpleIdScheme } | { kind: 'ATTRIBUTE'; attributeUid: string };

export class IdSchemeParseError extends Error {}

/**
 * Parses DHIS2's scheme strings case-insensitively: UID, CODE, NAME, ATTRIBUTE:<uid>.
 * DHIS2's ID and UUID are accepted as UID, as DHIS2 treats them for exchange files.
 */
export function parseIdScheme(text: string): IdScheme {
  const trimmed = text.trim();
  const upper = trimmed.toUpperCase();
  if (upper === 'UID' || upper === 'ID' || upper === 'UUID') return { kind: 'UID' };
  if (upper === 'CODE') return { kind: 'CODE' };
  if (upper === 'NAME') return { kind: 'NAME' };
  if (upper.startsWith('ATTRIBUTE:')) {
    const attributeUid = trimmed.slice('ATTRIBUTE:'.length);
    if (!isValidUid(attributeUid)) {
      throw new IdSchemeParseError(`ATTRIBUTE id scheme needs a valid attribute UID, got '${attributeUid}'`);
    }
    return { kind: 'ATTRIBUTE', attributeUid };
  }
  throw new IdSchemeParseError(`Unknown id scheme '${text}'; use UID, CODE, NAME or ATTRIBUTE:<uid>`);
}

export function formatIdScheme(scheme: IdScheme): string {
  return scheme.kind === 'ATTRIBUTE' ? `ATTRIBUTE:${scheme.attributeUid}` : scheme.kind;
}

export const UID_SCHEME: IdScheme = { kind: 'UID' };
export const CODE_SCHEME: IdScheme = { kind: 'CODE' };

/** The identifying fields of any stored metadata object that a scheme can match on. */
export interface IdentifiableKeys {
  id: string;
  code?: string | null;
  name?: string | null;
  attributeValues?: ReadonlyArray<{ attribute: { id: string }; value: string }> | null;
}

/** The identifier an object has under a scheme, or undefined when it has none (no code, say). */
export function identifierUnderScheme(object: IdentifiableKeys, scheme: IdScheme): string | undefined {
  switch (scheme.kind) {
    case 'UID':
      return object.id;
    case 'CODE':
      return object.code ?? undefined;
    case 'NAME':
      return object.name ?? undefined;
    case 'ATTRIBUTE':
      return object.attributeValues?.find((av) => av.attribute.id === scheme.attributeUid)?.value;
  }
}

/**
 * Per-type schemes with a general fallback, as DHIS2's idScheme / dataElementIdScheme / ... work:
 * a specific scheme beats the general one.
 */
export class IdSchemes {
  /** The general scheme as given, undefined when none was given (UID applies then). */
  readonly givenGeneral: IdScheme | undefined;
  private readonly specific: ReadonlyMap<string, IdScheme>;

  constructor(general?: IdScheme, specific: Record<string, IdScheme | undefined> = {}) {
    this.givenGeneral = general;
    this.specific = new Map(
      Object.entries(specific).filter((entry): entry is [string, IdScheme] => entry[1] !== undefined),
    );
  }

  /** The scheme for a type key such as 'dataElement' or 'orgUnit'. */
  schemeFor(typeKey: string): IdScheme {
    return this.specific.get(typeKey) ?? this.givenGeneral ?? UID_SCHEME;
  }

  /**
   * A copy in which `other`'s schemes win over this one's (a file's own schemes over the query's).
   * A general scheme in `other` stands for every type it names no scheme for, so it beats this
   * one's specific schemes too: DHIS2 2.42 reads a file's `orgUnitIdScheme` as its own
   * `orgUnitIdScheme` or else its `idScheme` (`DataValueSet.getOrgUnitIdSchemeProperty`), and uses
   * that before anything the query says (`DefaultDataValueSetService.createIdScheme`).
   */
  overriddenBy(other: IdSchemes | undefined): IdSchemes {
    if (!other) return this;
    const merged: Record<string, IdScheme> =
      other.givenGeneral === undefined ? Object.fromEntries(this.specific) : {};
    for (const [key, value] of other.specific) merged[key] = value;
    return new IdSchemes(other.givenGeneral ?? this.givenGeneral, merged);
  }
}
