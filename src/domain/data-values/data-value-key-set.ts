/**
 * Remembers which stored values (org unit, period, data element, category option combo, attribute
 * option combo) a file has already sent, so a second occurrence is a conflict rather than a silent
 * last-wins. A file of 5 million values must fit the 300 MB budget with room to spare, so keys are
 * neither strings nor one slot each:
 *
 * - the (org unit, period, attribute option combo) "group" is packed into one exact integer from
 *   dense per-dimension numbers (bounded by metadata, not by the file);
 * - the (data element, option combo) "operand" gets a dense number in order of first appearance;
 * - an open-addressing table maps (group, operand / 32) to a 32-bit mask of the operands seen.
 *
 * Aggregate files send whole forms (every operand of a data set for each org unit and period), so
 * operands of one group fill the same few words: 5 million values of 100 operands take 8 MB of
 * slots (under 2 bytes a value). The worst case, one value per group, costs 16 bytes a slot at a
 * load factor between 0.35 and 0.7, as a plain hash set of packed keys would.
 */
export class DataValueKeySet {
  private readonly orgUnits = new Map<number, number>();
  private readonly periods = new Map<number, number>();
  private readonly attributeOptionCombos = new Map<number, number>();
  private readonly operands = new Map<number, number>();
  private groups = new Float64Array(1 << 12);
  private blocks = new Uint32Array(1 << 12);
  private masks = new Int32Array(1 << 12);
  private slotMask = (1 << 12) - 1;
  private used = 0;
  private count = 0;
  private lastOrgUnit = -1;
  private lastPeriod = -1;
  private lastAoc = -1;
  private lastGroup = 0;

  /** Dense numbers per dimension; their product (2^22 × 2^16 × 2^14) stays below 2^53. */
  static readonly MAX_ORG_UNITS = 1 << 22;
  static readonly MAX_PERIODS = 1 << 16;
  static readonly MAX_ATTRIBUTE_OPTION_COMBOS = 1 << 14;

  get size(): number {
    return this.count;
  }

  /** The org unit ids of the keys added, in no particular order. */
  orgUnitIds(): number[] {
    return [...this.orgUnits.keys()];
  }

  /** Bytes held by the slot table (what grows with the file). */
  get tableBytes(): number {
    return this.groups.byteLength + this.blocks.byteLength + this.masks.byteLength;
  }

  /** Adds a key; false when it was already there. */
  add(
    orgUnit: number,
    period: number,
    dataElement: number,
    categoryOptionCombo: number,
    aoc: number,
  ): boolean {
    // Rows of one form arrive together: the group is usually the previous row's.
    let group = this.lastGroup;
    if (orgUnit !== this.lastOrgUnit || period !== this.lastPeriod || aoc !== this.lastAoc) {
      const o = dense(this.orgUnits, orgUnit, DataValueKeySet.MAX_ORG_UNITS, 'org units');
      const p = dense(this.periods, period, DataValueKeySet.MAX_PERIODS, 'periods');
      const a = dense(
        this.attributeOptionCombos,
        aoc,
        DataValueKeySet.MAX_ATTRIBUTE_OPTION_COMBOS,
        'attribute option combos',
      );
      // +1 so that 0 marks an empty slot.
      group = (o * DataValueKeySet.MAX_PERIODS + p) * DataValueKeySet.MAX_ATTRIBUTE_OPTION_COMBOS + a + 1;
      this.lastOrgUnit = orgUnit;
      this.lastPeriod = period;
      this.lastAoc = aoc;
      this.lastGroup = group;
    }
    // Ids are database row ids (far below 2^26), so the pair packs into one exact number.
    const pair = dataElement * 67_108_864 + categoryOptionCombo;
    let operand = this.operands.get(pair);
    if (operand === undefined) {
      operand = this.operands.size;
      this.operands.set(pair, operand);
    }
    const block = operand >>> 5;
    const bit = 1 << (operand & 31);
    let slot = hash(group, block) & this.slotMask;
    for (;;) {
      const current = this.groups[slot];
      if (current === 0) break;
      if (current === group && this.blocks[slot] === block) {
        const mask = this.masks[slot];
        if ((mask & bit) !== 0) return false;
        this.masks[slot] = mask | bit;
        this.count++;
        return true;
      }
      slot = (slot + 1) & this.slotMask;
    }
    this.groups[slot] = group;
    this.blocks[slot] = block;
    this.masks[slot] = bit;
    this.count++;
    this.used++;
    if (this.used * 10 > this.groups.length * 7) this.grow();
    return true;
  }

  private grow(): void {
    const groups = this.groups;
    const blocks = this.blocks;
    const masks = this.masks;
    const length = groups.length * 2;
    this.groups = new Float64Array(length);
    this.blocks = new Uint32Array(length);
    this.masks = new Int32Array(length);
    this.slotMask = length - 1;
    for (let i = 0; i < groups.length; i++) {
      const group = groups[i];
      if (group === 0) continue;
      let slot = hash(group, blocks[i]) & this.slotMask;
      while (this.groups[slot] !== 0) slot = (slot + 1) & this.slotMask;
      this.groups[slot] = group;
      this.blocks[slot] = blocks[i];
      this.masks[slot] = masks[i];
    }
  }
}

function dense(map: Map<number, number>, id: number, max: number, what: string): number {
  let n = map.get(id);
  if (n === undefined) {
    n = map.size;
    if (n >= max) throw new Error(`More than ${max} distinct ${what} in one file`);
    map.set(id, n);
  }
  return n;
}

function hash(group: number, block: number): number {
  const low = group >>> 0;
  const high = Math.floor(group / 4294967296) >>> 0;
  let h = Math.imul(low ^ Math.imul(high, 0x9e3779b1), 0x85ebca6b) ^ Math.imul(block, 0xcc9e2d51);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}
