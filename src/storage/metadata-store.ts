import type { SqlExecutor, SqlValue } from './storage.ts';
import type { SchemaRegistry } from '../domain/schema/schema-types.ts';
import { isEmbedded, isReference } from '../domain/schema/schema-registry.ts';
import { FerryError } from '../errors.ts';

/** A metadata object in DHIS2's JSON shape: `id` is the UID, references are `{ id }` objects. */
export type MetadataObject = Record<string, unknown> & { id: string };

export interface StoredMetadataObject {
  /** Ferry's integer surrogate key, used by data values. */
  sid: number;
  object: MetadataObject;
}

export interface MetadataFilter {
  property: string;
  /** `atMost` and `pathThrough`: see `ParsedFilter` in `domain/metadata-query/metadata-filter.ts`. */
  operator:
    'eq' | 'ne' | 'like' | 'ilike' | 'in' | 'null' | '!null' | 'startsWith' | 'atMost' | 'pathThrough';
  value?: string | readonly string[];
}

export interface MetadataListQuery {
  filters?: readonly MetadataFilter[];
  /** 1-based page; absent means no paging. */
  page?: number;
  pageSize?: number;
}

/** Columns kept beside the JSON body so that lookups by identifier and hierarchy use indexes. */
const INDEXED_COLUMNS: Readonly<Record<string, string>> = {
  id: 'uid',
  code: 'code',
  name: 'name',
  path: 'path',
};

/**
 * Metadata persistence, written once for every type and both dialects. Objects are stored whole as
 * JSON with their identifiers in indexed columns, and every reference they make (including from
 * embedded objects) is written to `metadata_reference`, so reverse look-ups (E4030, dependents) are
 * indexed too. The schema registry says which properties are references.
 */
export class MetadataStore {
  private readonly db: SqlExecutor;
  private readonly registry: SchemaRegistry;

  constructor(db: SqlExecutor, registry: SchemaRegistry) {
    this.db = db;
    this.registry = registry;
  }

  /** The same store working on another executor (a transaction). */
  withExecutor(db: SqlExecutor): MetadataStore {
    return new MetadataStore(db, this.registry);
  }

  async get(collection: string, uid: string): Promise<MetadataObject | undefined> {
    refuseNul('id', uid);
    const row = await this.db.queryOne<{ body: unknown }>(
      'SELECT body FROM metadata_object WHERE type = ? AND uid = ?',
      [collection, uid],
    );
    return row ? decodeBody(row.body) : undefined;
  }

  /** Objects found by the column behind an identifier scheme: uid, code or name. */
  async findBy(
    collection: string,
    column: 'uid' | 'code' | 'name',
    values: readonly string[],
  ): Promise<StoredMetadataObject[]> {
    refuseNul(column, values);
    const out: StoredMetadataObject[] = [];
    for (let i = 0; i < values.length; i += 500) {
      const chunk = values.slice(i, i + 500);
      const rows = await this.db.query<{ sid: number; body: unknown }>(
        `SELECT sid, body FROM metadata_object WHERE type = ? AND ${column} IN (${chunk.map(() => '?').join(', ')})`,
        [collection, ...chunk],
      );
      for (const row of rows) out.push({ sid: Number(row.sid), object: decodeBody(row.body) });
    }
    return out;
  }

  /** Every object of a type, by sid order, in batches; never the whole table in memory. */
  async *stream(collection: string, batchSize = 1000): AsyncIterable<StoredMetadataObject[]> {
    for await (const rows of this.db.stream<{ sid: number; body: unknown }>(
      'SELECT sid, body FROM metadata_object WHERE type = ? ORDER BY sid',
      [collection],
      batchSize,
    )) {
      yield rows.map((row) => ({ sid: Number(row.sid), object: decodeBody(row.body) }));
    }
  }

  /**
   * The objects of a type that match `filters`, in sid order, one keyset page (`sid > last`) at a
   * time: a filtered export streams like an unfiltered one, without holding a cursor open between
   * pages and without OFFSET.
   */
  async *streamMatching(
    collection: string,
    filters: readonly MetadataFilter[],
    batchSize = 1000,
  ): AsyncIterable<StoredMetadataObject[]> {
    const { where, params } = this.whereClause(collection, filters);
    let after = 0;
    for (;;) {
      const rows = await this.db.query<{ sid: number; body: unknown }>(
        `SELECT sid, body FROM metadata_object WHERE ${where} AND sid > ? ORDER BY sid LIMIT ?`,
        [...params, after, batchSize],
      );
      if (rows.length === 0) return;
      after = Number(rows[rows.length - 1].sid);
      yield rows.map((row) => ({ sid: Number(row.sid), object: decodeBody(row.body) }));
      if (rows.length < batchSize) return;
    }
  }

  async list(
    collection: string,
    query: MetadataListQuery = {},
  ): Promise<{ objects: MetadataObject[]; total: number }> {
    const { where, params } = this.whereClause(collection, query.filters ?? []);
    const totalRow = await this.db.queryOne<{ n: number }>(
      `SELECT COUNT(*) AS n FROM metadata_object WHERE ${where}`,
      params,
    );
    let sql = `SELECT body FROM metadata_object WHERE ${where} ORDER BY name, uid`;
    const pageParams = [...params];
    if (query.page !== undefined && query.pageSize !== undefined) {
      sql += ' LIMIT ? OFFSET ?';
      pageParams.push(query.pageSize, (query.page - 1) * query.pageSize);
    }
    const rows = await this.db.query<{ body: unknown }>(sql, pageParams);
    return { objects: rows.map((r) => decodeBody(r.body)), total: Number(totalRow?.n ?? 0) };
  }

  async count(collection: string): Promise<number> {
    const row = await this.db.queryOne<{ n: number }>(
      'SELECT COUNT(*) AS n FROM metadata_object WHERE type = ?',
      [collection],
    );
    return Number(row?.n ?? 0);
  }

  /** Surrogate ids for UIDs of one type. */
  async sids(collection: string, uids: readonly string[]): Promise<Map<string, number>> {
    const out = new Map<string, number>();
    for (let i = 0; i < uids.length; i += 500) {
      const chunk = uids.slice(i, i + 500);
      const rows = await this.db.query<{ sid: number; uid: string }>(
        `SELECT sid, uid FROM metadata_object WHERE type = ? AND uid IN (${chunk.map(() => '?').join(', ')})`,
        [collection, ...chunk],
      );
      for (const row of rows) out.set(row.uid, Number(row.sid));
    }
    return out;
  }

  /**
   * Inserts or replaces objects by UID, keeping each one's surrogate id. `path` is the org unit
   * hierarchy path where the type has one. The caller validates; this only stores.
   */
  async save(
    collection: string,
    objects: readonly MetadataObject[],
    now = new Date().toISOString(),
  ): Promise<void> {
    for (const object of objects) {
      const created = typeof object.created === 'string' ? object.created : now;
      const lastUpdated = typeof object.lastUpdated === 'string' ? object.lastUpdated : now;
      const row = await this.db.queryOne<{ sid: number }>(
        `INSERT INTO metadata_object (type, uid, code, name, path, created, last_updated, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (type, uid) DO UPDATE SET code = excluded.code, name = excluded.name, path = excluded.path,
           last_updated = excluded.last_updated, body = excluded.body
         RETURNING sid`,
        [
          collection,
          object.id,
          stringOrNull(object.code),
          stringOrNull(object.name),
          stringOrNull(object.path),
          created,
          lastUpdated,
          JSON.stringify(object),
        ],
      );
      const sid = Number(row!.sid);
      await this.db.execute('DELETE FROM metadata_reference WHERE source_sid = ?', [sid]);
      const references = this.referencesOf(collection, object);
      if (references.length > 0) {
        await this.db.executeMany(
          'INSERT INTO metadata_reference (source_sid, property, target_type, target_uid) VALUES (?, ?, ?, ?)',
          references.map((r) => [sid, r.property, r.targetType, r.targetUid]),
        );
      }
    }
  }

  /**
   * `save` in bulk: the same upsert for many objects with a handful of multi-row statements per
   * batch instead of three statements per object (imports of 50,000 org units). Objects must have
   * distinct UIDs. References are rewritten for exactly the objects saved.
   */
  async saveMany(
    collection: string,
    objects: readonly MetadataObject[],
    now = new Date().toISOString(),
    batchSize = 500,
  ): Promise<void> {
    for (let start = 0; start < objects.length; start += batchSize) {
      const batch = objects.slice(start, start + batchSize);
      await this.db.executeMany(
        `INSERT INTO metadata_object (type, uid, code, name, path, created, last_updated, body)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (type, uid) DO UPDATE SET code = excluded.code, name = excluded.name, path = excluded.path,
           last_updated = excluded.last_updated, body = excluded.body`,
        batch.map((object) => [
          collection,
          object.id,
          stringOrNull(object.code),
          stringOrNull(object.name),
          stringOrNull(object.path),
          typeof object.created === 'string' ? object.created : now,
          typeof object.lastUpdated === 'string' ? object.lastUpdated : now,
          JSON.stringify(object),
        ]),
      );
      const sids = await this.sids(
        collection,
        batch.map((o) => o.id),
      );
      const sidList = [...sids.values()];
      await this.db.execute(
        `DELETE FROM metadata_reference WHERE source_sid IN (${sidList.map(() => '?').join(', ') || 'NULL'})`,
        sidList,
      );
      const rows: Array<[number, string, string, string]> = [];
      for (const object of batch) {
        const sid = sids.get(object.id)!;
        for (const r of this.referencesOf(collection, object))
          rows.push([sid, r.property, r.targetType, r.targetUid]);
      }
      if (rows.length > 0) {
        await this.db.executeMany(
          'INSERT INTO metadata_reference (source_sid, property, target_type, target_uid) VALUES (?, ?, ?, ?)',
          rows,
        );
      }
    }
  }

  async delete(collection: string, uids: readonly string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < uids.length; i += 500) {
      const chunk = uids.slice(i, i + 500);
      const result = await this.db.execute(
        `DELETE FROM metadata_object WHERE type = ? AND uid IN (${chunk.map(() => '?').join(', ')})`,
        [collection, ...chunk],
      );
      deleted += result.changes;
    }
    return deleted;
  }

  /** Who refers to an object: the sources' types and UIDs, with the referring property. */
  async referrers(
    collection: string,
    uid: string,
  ): Promise<Array<{ collection: string; uid: string; property: string }>> {
    return this.db.query(
      `SELECT o.type AS collection, o.uid AS uid, r.property AS property
         FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
        WHERE r.target_type = ? AND r.target_uid = ?
        ORDER BY o.type, o.uid`,
      [collection, uid],
    );
  }

  /**
   * UIDs of the objects of `sourceCollection` whose `property` refers to one object (the groups whose
   * `users` hold a user): the indexed look-up by target, narrowed in SQL, never every referrer.
   */
  async referrerUids(
    collection: string,
    uid: string,
    sourceCollection: string,
    property: string,
  ): Promise<string[]> {
    const rows = await this.db.query<{ uid: string }>(
      `SELECT DISTINCT o.uid AS uid
         FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
        WHERE r.target_type = ? AND r.target_uid = ? AND r.property = ? AND o.type = ?
        ORDER BY o.uid`,
      [collection, uid, property, sourceCollection],
    );
    return rows.map((r) => r.uid);
  }

  /**
   * The objects of `sourceCollection` whose top-level `property` refers to any of `uids` (of
   * `collection`), each with the UID it refers to, in sid order: the owning side of an association
   * read for its inverse (a program's stages from each stage's `program`), by the reference index.
   */
  async referringObjects(
    collection: string,
    uids: readonly string[],
    sourceCollection: string,
    property: string,
  ): Promise<Array<{ targetUid: string; object: MetadataObject }>> {
    refuseNul('id', uids);
    const out: Array<{ targetUid: string; object: MetadataObject }> = [];
    for (let i = 0; i < uids.length; i += 500) {
      const chunk = uids.slice(i, i + 500);
      const rows = await this.db.query<{ target_uid: string; body: unknown }>(
        `SELECT r.target_uid AS target_uid, o.body AS body
           FROM metadata_reference r JOIN metadata_object o ON o.sid = r.source_sid
          WHERE r.target_type = ? AND r.property = ? AND o.type = ?
            AND r.target_uid IN (${chunk.map(() => '?').join(', ')})
          ORDER BY o.sid`,
        [collection, property, sourceCollection, ...chunk],
      );
      for (const row of rows) out.push({ targetUid: row.target_uid, object: decodeBody(row.body) });
    }
    return out;
  }

  /** Every (property, target) reference an object makes, walking embedded objects as the registry says. */
  referencesOf(
    collection: string,
    object: Record<string, unknown>,
  ): Array<{ property: string; targetType: string; targetUid: string }> {
    const out: Array<{ property: string; targetType: string; targetUid: string }> = [];
    const walk = (schemaName: string, value: Record<string, unknown>, prefix: string): void => {
      const schema = this.registry.byCollection(schemaName);
      if (!schema) return;
      for (const property of schema.properties) {
        const raw = value[property.name];
        if (raw === undefined || raw === null) continue;
        if (isReference(property) && property.target) {
          for (const item of Array.isArray(raw) ? raw : [raw]) {
            const id = (item as { id?: unknown } | null)?.id;
            if (typeof id === 'string') {
              out.push({ property: prefix + property.name, targetType: property.target, targetUid: id });
            }
          }
        } else if (isEmbedded(property) && property.itemSchema) {
          for (const item of Array.isArray(raw) ? raw : [raw]) {
            if (item && typeof item === 'object') {
              walk(property.itemSchema, item as Record<string, unknown>, `${prefix}${property.name}.`);
            }
          }
        }
      }
    };
    walk(collection, object, '');
    return out;
  }

  private whereClause(
    collection: string,
    filters: readonly MetadataFilter[],
  ): { where: string; params: SqlValue[] } {
    const clauses = ['type = ?'];
    const params: SqlValue[] = [collection];
    for (const filter of filters) {
      refuseNul('filter', filter.value);
      const column = INDEXED_COLUMNS[filter.property] ?? this.jsonText(filter.property);
      switch (filter.operator) {
        case 'eq':
          clauses.push(`${column} = ?`);
          params.push(String(filter.value));
          break;
        case 'ne':
          clauses.push(`(${column} IS NULL OR ${column} <> ?)`);
          params.push(String(filter.value));
          break;
        // The value is literal text: its own % and _ match themselves, not any characters.
        case 'like':
        case 'ilike':
          clauses.push(`LOWER(${column}) LIKE ? ESCAPE '\\'`);
          params.push(`%${likeLiteral(String(filter.value).toLowerCase())}%`);
          break;
        case 'startsWith':
          clauses.push(`${column} LIKE ? ESCAPE '\\'`);
          params.push(`${likeLiteral(String(filter.value))}%`);
          break;
        case 'in': {
          const values = Array.isArray(filter.value) ? filter.value : [String(filter.value)];
          clauses.push(`${column} IN (${values.map(() => '?').join(', ') || 'NULL'})`);
          params.push(...values);
          break;
        }
        case 'atMost':
          clauses.push(`${this.integerOf(column)} <= ?`);
          params.push(Number(filter.value));
          break;
        case 'pathThrough': {
          // A UID is one whole segment of the path: the last one (the unit itself) or a middle one
          // (an ancestor). No UIDs matches nothing.
          const uids: readonly string[] = Array.isArray(filter.value) ? filter.value : [String(filter.value)];
          const tests = uids.map(() => `${column} LIKE ? ESCAPE '\\' OR ${column} LIKE ? ESCAPE '\\'`);
          clauses.push(`(${tests.join(' OR ') || '1 = 0'})`);
          for (const uid of uids) {
            const literal = likeLiteral(uid);
            params.push(`%/${literal}`, `%/${literal}/%`);
          }
          break;
        }
        case 'null':
          clauses.push(`${column} IS NULL`);
          break;
        case '!null':
          clauses.push(`${column} IS NOT NULL`);
          break;
      }
    }
    return { where: clauses.join(' AND '), params };
  }

  /** A text expression as an integer, NULL when it is not one (so a stray value never matches). */
  private integerOf(text: string): string {
    if (this.db.kind === 'postgres')
      return `(CASE WHEN ${text} ~ '^-?[0-9]{1,9}$' THEN CAST(${text} AS INTEGER) END)`;
    return `(CASE WHEN ${text} GLOB '[0-9]*' AND ${text} NOT GLOB '*[^0-9]*' AND LENGTH(${text}) <= 9 THEN CAST(${text} AS INTEGER) END)`;
  }

  /** A top-level JSON property as text; the property name is checked against the registry first. */
  private jsonText(property: string): string {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(property)) throw new Error(`Invalid filter property '${property}'`);
    if (this.db.kind === 'postgres') return `(body->>'${property}')`;
    // As text, the way PostgreSQL's ->> gives it, so `level:eq:2` and `disabled:eq:true` match on both.
    const path = `'$.${property}'`;
    return `(CASE json_type(body, ${path}) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' ELSE CAST(json_extract(body, ${path}) AS TEXT) END)`;
  }
}

/** Text matched literally inside a LIKE pattern whose escape character is a backslash. */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * PostgreSQL cannot hold NUL in text (SQLite can, and would answer differently): a value with one
 * is refused as bad input on both, before any SQL, instead of surfacing as a database error.
 */
export function refuseNul(name: string, value: string | readonly string[] | undefined): void {
  for (const text of typeof value === 'string' ? [value] : (value ?? [])) {
    if (text.includes('\0')) {
      throw new FerryError('F1000', [
        name,
        text.replaceAll('\0', '\\0').slice(0, 100),
        'text without NUL characters',
      ]);
    }
  }
}

function stringOrNull(value: unknown): string | null {
  return typeof value === 'string' ? value : null;
}

function decodeBody(body: unknown): MetadataObject {
  return (typeof body === 'string' ? JSON.parse(body) : body) as MetadataObject;
}
