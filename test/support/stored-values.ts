import type { Storage } from '../../src/storage/storage.ts';

/** The columns of a stored data value that import tests look at (`deleted` as a number on both dialects). */
export interface StoredDataValue {
  value: string | null;
  comment: string | null;
  deleted: number;
  stored_by: string | null;
}

/**
 * The stored row of one data value, read with plain SQL by the UIDs of its key and the ISO code of
 * its period (deleted or not); undefined if there is none.
 */
export async function storedDataValue(
  storage: Storage,
  key: {
    dataElement: string;
    period: string;
    orgUnit: string;
    categoryOptionCombo: string;
    attributeOptionCombo: string;
  },
): Promise<StoredDataValue | undefined> {
  const found = await storage.queryOne<StoredDataValue>(
    `SELECT dv.value, dv.comment, dv.deleted, dv.stored_by
       FROM data_value dv
       JOIN metadata_object de ON de.sid = dv.data_element_id
       JOIN metadata_object ou ON ou.sid = dv.org_unit_id
       JOIN metadata_object coc ON coc.sid = dv.category_option_combo_id
       JOIN metadata_object aoc ON aoc.sid = dv.attribute_option_combo_id
       JOIN period p ON p.period_id = dv.period_id
      WHERE de.uid = ? AND p.iso = ? AND ou.uid = ? AND coc.uid = ? AND aoc.uid = ?`,
    [key.dataElement, key.period, key.orgUnit, key.categoryOptionCombo, key.attributeOptionCombo],
  );
  return found ? { ...found, deleted: Number(found.deleted) } : undefined;
}
