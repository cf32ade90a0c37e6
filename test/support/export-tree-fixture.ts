import type { Storage } from '../../src/storage/storage.ts';
import { uidFromSeed } from '../../src/domain/identifiers/uid.ts';

/**
 * A synthetic tree of data values for export tests, written with plain SQL at fixed sids so a test
 * can name rows by sid and store tens of thousands of values quickly: a root org unit (sid 10) with
 * child org units, `elements` data elements (sids 1000…) in one Monthly data set (sid 3),
 * `combos` category option combos (sids 2000…; the first is every value's attribute option combo),
 * and periods 1-12, 2023's months, and 13, December 2022, which lies outside every range the tests
 * ask for. Each child holds the number of values `values` gives it, spread over the periods, data
 * elements and combos; among them null storedBy, follow-ups, deleted values, and every 89th value
 * and 97th comment the text the test chooses (to need quoting or escaping).
 */
export interface ExportTree {
  /** Seeds the UIDs, so two trees never share one. */
  name: string;
  /** Values on each child org unit, by sid (11 and up); a child may hold none. */
  values: Readonly<Record<number, number>>;
  elements: number;
  combos: number;
  awkwardValue: string;
  awkwardComment: string;
}

export const TREE_ROOT_SID = 10;

export function treeOrgUnit(tree: ExportTree, sid: number): string {
  return uidFromSeed(`${tree.name}-ou-${sid}`);
}

export function treeDataSet(tree: ExportTree): string {
  return uidFromSeed(`${tree.name}-data-set`);
}

const literal = (text: string): string => `'${text.replaceAll("'", "''")}'`;

export async function seedExportTree(storage: Storage, tree: ExportTree): Promise<void> {
  const now = '2024-01-01T00:00:00.000Z';
  const object = async (sid: number, type: string, uid: string, path: string | null, body: object) => {
    await storage.execute(
      'INSERT INTO metadata_object (sid, type, uid, code, name, path, created, last_updated, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [sid, type, uid, `C_${sid}`, `Object ${sid}`, path, now, now, JSON.stringify({ id: uid, ...body })],
    );
  };
  const ou = (sid: number) => treeOrgUnit(tree, sid);
  const rootPath = `/${ou(TREE_ROOT_SID)}`;
  await object(TREE_ROOT_SID, 'organisationUnits', ou(TREE_ROOT_SID), rootPath, { path: rootPath });
  const children = Object.keys(tree.values).map(Number);
  for (const sid of children) {
    const path = `${rootPath}/${ou(sid)}`;
    await object(sid, 'organisationUnits', ou(sid), path, { path });
  }
  const elements = Array.from({ length: tree.elements }, (_, i) => uidFromSeed(`${tree.name}-de-${i}`));
  for (const [i, uid] of elements.entries()) await object(1000 + i, 'dataElements', uid, null, {});
  for (let i = 0; i < tree.combos; i++) {
    await object(2000 + i, 'categoryOptionCombos', uidFromSeed(`${tree.name}-coc-${i}`), null, {});
  }
  await object(3, 'dataSets', treeDataSet(tree), null, {
    periodType: 'Monthly',
    dataSetElements: elements.map((id) => ({ dataElement: { id } })),
  });
  for (let m = 1; m <= 13; m++) {
    const year = m === 13 ? 2022 : 2023;
    const month = String(m === 13 ? 12 : m).padStart(2, '0');
    await storage.execute(
      'INSERT INTO period (period_id, iso, period_type, start_date, end_date) VALUES (?, ?, ?, ?, ?)',
      [m, `${year}${month}`, 'Monthly', `${year}-${month}-01`, `${year}-${month}-28`],
    );
  }
  for (const sid of children) {
    const count = tree.values[sid];
    if (count === 0) continue;
    await storage.execute(`WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ${count - 1})
      INSERT INTO data_value (org_unit_id, period_id, data_element_id, category_option_combo_id,
        attribute_option_combo_id, value, stored_by, created, last_updated, comment, follow_up, deleted)
      SELECT ${sid}, 1 + i % 13, 1000 + (i / 13) % ${tree.elements}, 2000 + i / ${13 * tree.elements}, 2000,
        CASE WHEN i % 89 = 5 THEN ${literal(tree.awkwardValue)} ELSE CAST(i AS TEXT) END,
        CASE WHEN i % 7 = 0 THEN NULL ELSE 'loader' END, '${now}', '${now}',
        CASE WHEN i % 97 = 3 THEN ${literal(tree.awkwardComment)} END,
        CASE WHEN i % 11 = 0 THEN 1 ELSE 0 END, CASE WHEN i % 50 = 7 THEN 1 ELSE 0 END
      FROM n`);
  }
}
