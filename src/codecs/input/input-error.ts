/**
 * A refusal of input: a file that can't be read as what it claims to be. Names the file and, where
 * known, the line, column and byte offset, so a data manager can find the problem.
 */
export class InputError extends Error {
  readonly fileName: string;
  readonly line?: number;
  readonly column?: number;
  readonly byteOffset?: number;

  constructor(
    fileName: string,
    reason: string,
    where: { line?: number; column?: number; byteOffset?: number } = {},
  ) {
    const place = [
      where.line !== undefined ? `line ${where.line}` : undefined,
      where.column !== undefined ? `column ${where.column}` : undefined,
      where.byteOffset !== undefined ? `byte ${where.byteOffset}` : undefined,
    ]
      .filter(Boolean)
      .join(', ');
    super(`${fileName}${place ? ` (${place})` : ''}: ${reason}`);
    this.fileName = fileName;
    this.line = where.line;
    this.column = where.column;
    this.byteOffset = where.byteOffset;
  }
}
