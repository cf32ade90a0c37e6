import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';

/** Writes one piece of text (or its bytes), waiting for the file to drain when its buffer is full. */
export type WriteText = (text: string | Buffer) => Promise<void>;

/**
 * Streams an export into `output` through `produce`, which returns how many objects it wrote. The
 * file is removed again if anything fails, so a half-written export never looks like a whole one.
 */
export async function writeExportFile(
  output: string,
  produce: (write: WriteText) => Promise<number>,
): Promise<number> {
  const file = createWriteStream(output);
  const write: WriteText = async (text) => {
    if (!file.write(text)) await once(file, 'drain');
  };
  try {
    const count = await produce(write);
    file.end();
    await once(file, 'finish');
    return count;
  } catch (error) {
    file.destroy();
    rmSync(output, { force: true });
    throw error;
  }
}

/** The objects of one batch as JSON list items, with the comma before each but the very first. */
export function jsonListItems(batch: readonly unknown[], writtenBefore: number): string {
  return batch.map((item, i) => (writtenBefore + i > 0 ? ',' : '') + JSON.stringify(item)).join('');
}
