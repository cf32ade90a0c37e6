import type { DatabaseKind } from '../storage.ts';
import { TRACKER_MIGRATIONS } from './tracker-migrations.ts';
import { AUDIT_MIGRATIONS } from './audit-migrations.ts';
import { SETTINGS_MIGRATIONS } from './settings-migrations.ts';
import { DEDUPE_MIGRATIONS } from './dedupe-migrations.ts';
import { API_TOKEN_MIGRATIONS } from './api-token-migrations.ts';
import { EXPORT_NOTICE_MIGRATIONS } from './export-notice-migrations.ts';
import { EXPORT_REMOTE_MIGRATIONS } from './export-remote-migrations.ts';
import { FILE_RESOURCE_MIGRATIONS } from './file-resource-migrations.ts';
import { WIZARD_MIGRATIONS } from './wizard-migrations.ts';
import { SYNC_MIGRATIONS } from './sync-migrations.ts';

/**
 * Versioned schema migrations. Each has SQL per dialect; types differ (SQLite STRICT tables with
 * INTEGER/TEXT, PostgreSQL BIGINT/JSONB/TIMESTAMPTZ-as-text) but names and meaning are the same.
 * Timestamps are stored as ISO-8601 text in both so that values round-trip byte for byte.
 * Append new migrations; never edit an applied one.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: Readonly<Record<DatabaseKind, string>>;
}

const sqliteCore = `
CREATE TABLE metadata_object (
  sid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  uid TEXT NOT NULL,
  code TEXT,
  name TEXT,
  path TEXT,
  created TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  body TEXT NOT NULL
) STRICT;
CREATE UNIQUE INDEX metadata_object_type_uid ON metadata_object (type, uid);
CREATE UNIQUE INDEX metadata_object_type_code ON metadata_object (type, code) WHERE code IS NOT NULL;
CREATE INDEX metadata_object_type_name ON metadata_object (type, name);
CREATE INDEX metadata_object_path ON metadata_object (path) WHERE path IS NOT NULL;

CREATE TABLE metadata_reference (
  source_sid INTEGER NOT NULL REFERENCES metadata_object (sid) ON DELETE CASCADE,
  property TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_uid TEXT NOT NULL
) STRICT;
CREATE INDEX metadata_reference_source ON metadata_reference (source_sid);
CREATE INDEX metadata_reference_target ON metadata_reference (target_type, target_uid);

CREATE TABLE period (
  period_id INTEGER PRIMARY KEY,
  iso TEXT NOT NULL UNIQUE,
  period_type TEXT NOT NULL,
  start_date TEXT NOT NULL,
  end_date TEXT NOT NULL
) STRICT;

CREATE TABLE data_value (
  org_unit_id INTEGER NOT NULL,
  period_id INTEGER NOT NULL,
  data_element_id INTEGER NOT NULL,
  category_option_combo_id INTEGER NOT NULL,
  attribute_option_combo_id INTEGER NOT NULL,
  value TEXT,
  stored_by TEXT,
  created TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  comment TEXT,
  follow_up INTEGER NOT NULL DEFAULT 0,
  deleted INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (org_unit_id, period_id, data_element_id, category_option_combo_id, attribute_option_combo_id)
) STRICT, WITHOUT ROWID;
CREATE INDEX data_value_data_element ON data_value (data_element_id, period_id);
CREATE INDEX data_value_last_updated ON data_value (last_updated);

CREATE TABLE data_value_audit (
  audit_id INTEGER PRIMARY KEY,
  org_unit_id INTEGER NOT NULL,
  period_id INTEGER NOT NULL,
  data_element_id INTEGER NOT NULL,
  category_option_combo_id INTEGER NOT NULL,
  attribute_option_combo_id INTEGER NOT NULL,
  audit_type TEXT NOT NULL,
  previous_value TEXT,
  new_value TEXT,
  modified_by TEXT,
  created TEXT NOT NULL,
  job_id TEXT
) STRICT;

CREATE TABLE complete_registration (
  data_set_id INTEGER NOT NULL,
  period_id INTEGER NOT NULL,
  org_unit_id INTEGER NOT NULL,
  attribute_option_combo_id INTEGER NOT NULL,
  completed_date TEXT NOT NULL,
  stored_by TEXT,
  last_updated TEXT NOT NULL,
  PRIMARY KEY (data_set_id, period_id, org_unit_id, attribute_option_combo_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE user_credential (
  user_uid TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  updated TEXT NOT NULL
) STRICT;

CREATE TABLE api_token (
  token_id TEXT PRIMARY KEY,
  user_uid TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  name TEXT,
  created TEXT NOT NULL,
  expires TEXT
) STRICT;

CREATE TABLE web_session (
  session_hash TEXT PRIMARY KEY,
  user_uid TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT NOT NULL
) STRICT;
`;

const postgresCore = `
CREATE TABLE metadata_object (
  sid BIGSERIAL PRIMARY KEY,
  type TEXT NOT NULL,
  uid TEXT NOT NULL,
  code TEXT,
  name TEXT,
  path TEXT,
  created TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  body JSONB NOT NULL
);
CREATE UNIQUE INDEX metadata_object_type_uid ON metadata_object (type, uid);
CREATE UNIQUE INDEX metadata_object_type_code ON metadata_object (type, code) WHERE code IS NOT NULL;
CREATE INDEX metadata_object_type_name ON metadata_object (type, name);
CREATE INDEX metadata_object_path ON metadata_object (path text_pattern_ops) WHERE path IS NOT NULL;

CREATE TABLE metadata_reference (
  source_sid BIGINT NOT NULL REFERENCES metadata_object (sid) ON DELETE CASCADE,
  property TEXT NOT NULL,
  target_type TEXT NOT NULL,
  target_uid TEXT NOT NULL
);
CREATE INDEX metadata_reference_source ON metadata_reference (source_sid);
CREATE INDEX metadata_reference_target ON metadata_reference (target_type, target_uid);

CREATE TABLE period (
  period_id BIGSERIAL PRIMARY KEY,
  iso TEXT NOT NULL UNIQUE,
  period_type TEXT NOT NULL,
  start_date TEXT NOT NULL,
  end_date TEXT NOT NULL
);

CREATE TABLE data_value (
  org_unit_id BIGINT NOT NULL,
  period_id BIGINT NOT NULL,
  data_element_id BIGINT NOT NULL,
  category_option_combo_id BIGINT NOT NULL,
  attribute_option_combo_id BIGINT NOT NULL,
  value TEXT,
  stored_by TEXT,
  created TEXT NOT NULL,
  last_updated TEXT NOT NULL,
  comment TEXT,
  follow_up SMALLINT NOT NULL DEFAULT 0,
  deleted SMALLINT NOT NULL DEFAULT 0,
  PRIMARY KEY (org_unit_id, period_id, data_element_id, category_option_combo_id, attribute_option_combo_id)
);
CREATE INDEX data_value_data_element ON data_value (data_element_id, period_id);
CREATE INDEX data_value_last_updated ON data_value (last_updated);

CREATE TABLE data_value_audit (
  audit_id BIGSERIAL PRIMARY KEY,
  org_unit_id BIGINT NOT NULL,
  period_id BIGINT NOT NULL,
  data_element_id BIGINT NOT NULL,
  category_option_combo_id BIGINT NOT NULL,
  attribute_option_combo_id BIGINT NOT NULL,
  audit_type TEXT NOT NULL,
  previous_value TEXT,
  new_value TEXT,
  modified_by TEXT,
  created TEXT NOT NULL,
  job_id TEXT
);

CREATE TABLE complete_registration (
  data_set_id BIGINT NOT NULL,
  period_id BIGINT NOT NULL,
  org_unit_id BIGINT NOT NULL,
  attribute_option_combo_id BIGINT NOT NULL,
  completed_date TEXT NOT NULL,
  stored_by TEXT,
  last_updated TEXT NOT NULL,
  PRIMARY KEY (data_set_id, period_id, org_unit_id, attribute_option_combo_id)
);

CREATE TABLE user_credential (
  user_uid TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  updated TEXT NOT NULL
);

CREATE TABLE api_token (
  token_id TEXT PRIMARY KEY,
  user_uid TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  name TEXT,
  created TEXT NOT NULL,
  expires TEXT
);

CREATE TABLE web_session (
  session_hash TEXT PRIMARY KEY,
  user_uid TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT NOT NULL
);
`;

const OPTION_CODES_SQL = `
DROP INDEX metadata_object_type_code;
CREATE INDEX metadata_object_type_code ON metadata_object (type, code);
CREATE UNIQUE INDEX metadata_object_type_code_unique ON metadata_object (type, code)
  WHERE code IS NOT NULL AND type <> 'options';
`;

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'core', sql: { sqlite: sqliteCore, postgres: postgresCore } },
  {
    version: 2,
    name: 'data values without a last_updated index',
    // Every data value export filters by data elements and org units (DHIS2's E2001-E2011), so
    // `lastUpdated` is a residual filter on the primary-key scan and the index never led a plan;
    // maintaining it cost a 24-character key per written value (about 20% of the bytes an import
    // writes, and an extra B-tree write on every update). bench/data-value-import-bench.ts.
    sql: {
      sqlite: 'DROP INDEX IF EXISTS data_value_last_updated;',
      postgres: 'DROP INDEX IF EXISTS data_value_last_updated;',
    },
  },
  {
    version: 3,
    name: 'jobs',
    sql: { sqlite: jobsMigrationSql('sqlite'), postgres: jobsMigrationSql('postgres') },
  },
  {
    version: 4,
    name: 'option codes unique per option set',
    // DHIS2 allows the same option code in two option sets (MEDIUM in "Result" and "Impact");
    // codes stay unique per type for every other type. The plain index keeps look-ups by code fast.
    sql: {
      sqlite: OPTION_CODES_SQL,
      postgres: OPTION_CODES_SQL,
    },
  },
  ...AUDIT_MIGRATIONS,
  ...TRACKER_MIGRATIONS,
  ...SETTINGS_MIGRATIONS,
  ...DEDUPE_MIGRATIONS,
  ...API_TOKEN_MIGRATIONS,
  ...EXPORT_NOTICE_MIGRATIONS,
  ...EXPORT_REMOTE_MIGRATIONS,
  ...FILE_RESOURCE_MIGRATIONS,
  ...SYNC_MIGRATIONS,
  ...WIZARD_MIGRATIONS,
];

/**
 * Durable jobs (issue 5): the job row is the truth for status, lease and progress whichever driver
 * delivers it; notifications are DHIS2's task messages; stored files are uploads and export
 * results; export_job adds what an export card shows. `job.number` is the card's job number and
 * the "newest first" order.
 */
function jobsMigrationSql(kind: DatabaseKind): string {
  const pg = kind === 'postgres';
  const serial = pg ? 'BIGSERIAL PRIMARY KEY' : 'INTEGER PRIMARY KEY';
  const int = pg ? 'BIGINT' : 'INTEGER';
  const json = pg ? 'JSONB' : 'TEXT';
  const real = pg ? 'DOUBLE PRECISION' : 'REAL';
  const strict = pg ? '' : ' STRICT';
  return `
CREATE TABLE job (
  number ${serial},
  id TEXT NOT NULL UNIQUE,
  type TEXT NOT NULL,
  queue TEXT NOT NULL,
  status TEXT NOT NULL,
  params ${json} NOT NULL,
  input_file_id TEXT,
  user_uid TEXT,
  dedupe_key TEXT,
  created TEXT NOT NULL,
  started TEXT,
  finished TEXT,
  run_after TEXT NOT NULL,
  attempts ${int} NOT NULL DEFAULT 0,
  max_attempts ${int} NOT NULL,
  lease_token TEXT,
  lease_owner TEXT,
  lease_expires TEXT,
  cancel_requested ${int} NOT NULL DEFAULT 0,
  stage TEXT,
  processed ${int},
  total ${int},
  rows_per_second ${real},
  progress_updated TEXT,
  summary ${json},
  error TEXT,
  output_file_id TEXT
)${strict};
CREATE INDEX job_claim ON job (queue, status, run_after);
CREATE INDEX job_type_status ON job (type, status);
CREATE INDEX job_user ON job (user_uid);
CREATE INDEX job_dedupe ON job (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX job_finished ON job (finished) WHERE finished IS NOT NULL;

CREATE TABLE job_notification (
  notification_id ${serial},
  uid TEXT NOT NULL,
  job_id TEXT NOT NULL REFERENCES job (id) ON DELETE CASCADE,
  level TEXT NOT NULL,
  time TEXT NOT NULL,
  message TEXT NOT NULL,
  completed ${int} NOT NULL DEFAULT 0
)${strict};
CREATE INDEX job_notification_job ON job_notification (job_id, notification_id);

CREATE TABLE stored_file (
  id TEXT PRIMARY KEY,
  purpose TEXT NOT NULL,
  content_type TEXT NOT NULL,
  original_name TEXT,
  size ${int} NOT NULL,
  sha256 TEXT NOT NULL,
  path TEXT NOT NULL,
  created TEXT NOT NULL,
  expires TEXT
)${strict};
CREATE INDEX stored_file_expires ON stored_file (expires) WHERE expires IS NOT NULL;

CREATE TABLE export_job (
  job_id TEXT PRIMARY KEY REFERENCES job (id) ON DELETE CASCADE,
  kind TEXT NOT NULL,
  format TEXT NOT NULL,
  compression TEXT NOT NULL,
  destination ${json} NOT NULL,
  description TEXT NOT NULL,
  natural_key TEXT NOT NULL,
  file_id TEXT,
  file_name TEXT,
  file_size ${int},
  file_created TEXT,
  file_expires TEXT,
  delivered_to TEXT,
  replaced_by TEXT
)${strict};
CREATE INDEX export_job_natural_key ON export_job (natural_key);
`;
}
