/**
 * A refused `fields=` or `filter=` expression. It carries the code of Ferry's error catalog
 * (`src/errors.ts`) and its arguments; the service layer turns it into a `FerryError`, so this
 * pure module does not import from outside `domain/`.
 */
export class MetadataQueryError extends Error {
  readonly code: 'F1020' | 'F1021' | 'F1022';
  readonly args: readonly string[];

  constructor(code: 'F1020' | 'F1021' | 'F1022', args: readonly string[]) {
    super(`${code}: ${args.join('; ')}`);
    this.code = code;
    this.args = args;
  }
}
