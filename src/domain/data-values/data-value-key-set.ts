/**
 * Remembers which stored values (org unit, period, data element, category option combo, attribute
 * option combo) a file has already sent, so a second occurrence is a conflict rather than a silent
 * last-wins. A file of 5 million values must fit the 300 MB budget, so keys are not strings: the
 * (org unit, period, attribute option combo) triple and the (data element, option combo) pair each
 * get a dense number, and their combination, an exact integer below 2^53, lives in an
 * open-addressing table of doubles (8 bytes a slot, under 16 bytes a key).
 */
export class DataValueKeySet {
  private readonly groups = new Map<string, number>();
  private readonly operands = new Map<string, number>();
  private table = new Float64Array(1 << 16);
  private mask = (1 << 16) - 1;
  private count = 0;

  /** Operands (data element × option combo) are capped at 2^21 so that keys stay below 2^53. */
  static readonly MAX_OPERANDS = 1 << 21;

  get size(): number {
    return this.count;
  }

  /** Adds a key; false when it was already there. */
  add(
    orgUnit: number,
    period: number,
    dataElement: number,
    categoryOptionCombo: number,
    aoc: number,
  ): boolean {
    const groupKey = `${orgUnit}:${period}:${aoc}`;
    let group = this.groups.get(groupKey);
    if (group === undefined) {
      group = this.groups.size;
      this.groups.set(groupKey, group);
    }
    const operandKey = `${dataElement}:${categoryOptionCombo}`;
    let operand = this.operands.get(operandKey);
    if (operand === undefined) {
      operand = this.operands.size;
      if (operand >= DataValueKeySet.MAX_OPERANDS) {
        throw new Error('More than 2^21 distinct data element and option combo pairs in one file');
      }
      this.operands.set(operandKey, operand);
    }
    // +1 so that 0 marks an empty slot.
    return this.insert(group * DataValueKeySet.MAX_OPERANDS + operand + 1);
  }

  private insert(key: number): boolean {
    if ((this.count + 1) * 2 > this.table.length) this.grow();
    let slot = hash(key) & this.mask;
    for (;;) {
      const current = this.table[slot];
      if (current === 0) {
        this.table[slot] = key;
        this.count++;
        return true;
      }
      if (current === key) return false;
      slot = (slot + 1) & this.mask;
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2);
    this.mask = this.table.length - 1;
    for (let i = 0; i < old.length; i++) {
      const key = old[i];
      if (key === 0) continue;
      let slot = hash(key) & this.mask;
      while (this.table[slot] !== 0) slot = (slot + 1) & this.mask;
      this.table[slot] = key;
    }
  }
}

function hash(key: number): number {
  const low = key >>> 0;
  const high = Math.floor(key / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
