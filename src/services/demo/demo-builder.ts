import type { MetadataObject } from '../../storage/metadata-store.ts';
import { uidFromSeed } from '../../domain/identifiers/uid.ts';
import { createRandom, pick } from './demo-random.ts';
import { DEMO_TIMESTAMP, type DemoOptions } from './demo-types.ts';

/**
 * What every stage of the demo generator shares: seeded UIDs, references, the objects by collection
 * in the order they are added, and one seeded random sequence. The stages draw from that sequence
 * in a fixed order (org units, then data set assignment), so the demo stays the same on every run.
 */
export interface DemoBuilder {
  readonly options: DemoOptions;
  readonly random: () => number;
  readonly metadata: Map<string, MetadataObject[]>;
  /** A UID from the seed, the kind of object and its key. */
  uid(kind: string, key: string | number): string;
  ref(id: string): { id: string };
  /** Adds objects to a collection, stamped with DEMO_TIMESTAMP. */
  add(collection: string, ...objects: MetadataObject[]): void;
  /** A made-up place name, never the same twice. */
  placeName(minSyllables: number): string;
}

const SYLLABLES = [
  'ba', 'bo', 'da', 'di', 'ga', 'go', 'ka', 'ke', 'ko', 'la', 'lo', 'ma', 'me', 'mo', 'na', 'ni',
  'pa', 'ro', 'sa', 'se', 'ta', 'to', 'wa', 'ya', 'ju', 'fu', 'gbe', 'kpa', 'nja', 'mba', 'hun', 'ri',
]; // prettier-ignore

function capitalise(word: string): string {
  return word[0].toUpperCase() + word.slice(1);
}

export function createDemoBuilder(options: DemoOptions): DemoBuilder {
  const random = createRandom(`${options.seed}:metadata`);
  const uid = (kind: string, key: string | number) => uidFromSeed(`${options.seed}:${kind}:${key}`);
  const stamp = { created: DEMO_TIMESTAMP, lastUpdated: DEMO_TIMESTAMP };
  const ref = (id: string) => ({ id });
  const metadata = new Map<string, MetadataObject[]>();
  const add = (collection: string, ...objects: MetadataObject[]) => {
    let list = metadata.get(collection);
    if (!list) metadata.set(collection, (list = []));
    for (const object of objects) list.push({ ...object, ...stamp });
  };
  const usedNames = new Set<string>();
  const placeName = (minSyllables: number) => {
    for (;;) {
      const n = minSyllables + Math.floor(random() * 2);
      let word = '';
      for (let i = 0; i < n; i++) word += pick(SYLLABLES, random());
      const name = capitalise(word);
      if (!usedNames.has(name)) {
        usedNames.add(name);
        return name;
      }
    }
  };
  return { options, random, metadata, uid, ref, add, placeName };
}
