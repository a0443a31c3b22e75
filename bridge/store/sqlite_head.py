"""The SQLite schema at the newest revision, as the statements that create it: a new SQLite
store is made from them in one transaction (database.py) instead of Alembic replaying every
migration. Generated from the migrations, never edited by hand:

    .venv/bin/python -m bridge.store.regenerate

A test checks that these statements and the migrations give the same schema.
"""

from __future__ import annotations

REVISION = "0007"
STATEMENTS: tuple[str, ...] = (
    'CREATE TABLE alembic_version (\n\tversion_num VARCHAR(32) NOT NULL, \n\tCONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)\n)',
    'CREATE TABLE cursors (\n\tsource VARCHAR(64) NOT NULL, \n\tstream VARCHAR(64) NOT NULL, \n\tvalue JSON NOT NULL, \n\tupdated_at DATETIME NOT NULL, \n\tCONSTRAINT pk_cursors PRIMARY KEY (source, stream)\n)',
    'CREATE TABLE knowledge_articles (\n\ttransition_id VARCHAR(255) NOT NULL, \n\tcontent_hash VARCHAR(64) NOT NULL, \n\tpayload JSON NOT NULL, \n\tupdated_at DATETIME NOT NULL, \n\tCONSTRAINT pk_knowledge_articles PRIMARY KEY (transition_id)\n)',
    'CREATE TABLE outbox (\n\tid INTEGER NOT NULL, \n\tidempotency_key VARCHAR(255) NOT NULL, \n\ttarget VARCHAR(64) NOT NULL, \n\toperation VARCHAR(64) NOT NULL, \n\tpayload JSON NOT NULL, \n\tstatus VARCHAR(16) NOT NULL, \n\tattempts INTEGER NOT NULL, \n\tnext_attempt_at DATETIME, \n\tlast_error TEXT, \n\tcreated_at DATETIME NOT NULL, \n\tdelivered_at DATETIME, \n\tremote_id VARCHAR(255), \n\tCONSTRAINT pk_outbox PRIMARY KEY (id), \n\tCONSTRAINT uq_outbox_idempotency_key UNIQUE (idempotency_key)\n)',
    'CREATE INDEX ix_outbox_status_next_attempt_at ON outbox (status, next_attempt_at)',
    'CREATE TABLE projects (\n\tsource VARCHAR(64) NOT NULL, \n\t"key" VARCHAR(255) NOT NULL, \n\tservice VARCHAR(255), \n\tpayload JSON NOT NULL, \n\tcontent_hash VARCHAR(64) NOT NULL, \n\tupdated_at DATETIME NOT NULL, \n\tCONSTRAINT pk_projects PRIMARY KEY (source, "key")\n)',
    'CREATE TABLE quarantine (\n\tid INTEGER NOT NULL, \n\tsource VARCHAR(64) NOT NULL, \n\tstream VARCHAR(64) NOT NULL, \n\t"key" VARCHAR(255) NOT NULL, \n\tfield VARCHAR(255), \n\treason TEXT NOT NULL, \n\tpayload JSON, \n\tat DATETIME NOT NULL, \n\tCONSTRAINT pk_quarantine PRIMARY KEY (id), \n\tCONSTRAINT uq_quarantine_source_stream_key UNIQUE (source, stream, "key")\n)',
    'CREATE TABLE raw_records (\n\tid INTEGER NOT NULL, \n\tsource VARCHAR(64) NOT NULL, \n\tstream VARCHAR(64) NOT NULL, \n\t"key" VARCHAR(255) NOT NULL, \n\tupdated DATETIME, \n\tpayload JSON NOT NULL, \n\tcontent_hash VARCHAR(64) NOT NULL, \n\tdeleted BOOLEAN NOT NULL, \n\tfirst_seen DATETIME NOT NULL, \n\tlast_seen DATETIME NOT NULL, identity VARCHAR(255), \n\tCONSTRAINT pk_raw_records PRIMARY KEY (id), \n\tCONSTRAINT uq_raw_records_source_stream_key UNIQUE (source, stream, "key")\n)',
    'CREATE TABLE runs (\n\tid INTEGER NOT NULL, \n\tkind VARCHAR(32) NOT NULL, \n\tsource VARCHAR(64), \n\tstarted_at DATETIME NOT NULL, \n\tfinished_at DATETIME, \n\tstatus VARCHAR(16) NOT NULL, \n\tcounts JSON, \n\terror TEXT, \n\tCONSTRAINT pk_runs PRIMARY KEY (id)\n)',
    'CREATE INDEX ix_runs_source_status_finished_at ON runs (source, status, finished_at)',
    'CREATE TABLE tickets (\n\tsource VARCHAR(64) NOT NULL, \n\t"key" VARCHAR(255) NOT NULL, \n\tpractice VARCHAR(64), \n\tcapability VARCHAR(16), \n\tteam VARCHAR(255), \n\tstatus_category VARCHAR(16) NOT NULL, \n\tpriority VARCHAR(64), \n\tproject_key VARCHAR(255), \n\ttransition_key VARCHAR(255), \n\topened DATETIME NOT NULL, \n\tresolved DATETIME, \n\teffort_hours FLOAT, \n\tsla_breached BOOLEAN NOT NULL, \n\tpayload JSON NOT NULL, \n\tcontent_hash VARCHAR(64) NOT NULL, \n\tupdated_at DATETIME NOT NULL, \n\tCONSTRAINT pk_tickets PRIMARY KEY (source, "key")\n)',
    'CREATE INDEX ix_tickets_capability_practice_team ON tickets (capability, practice, team)',
    'CREATE INDEX ix_tickets_transition_key ON tickets (transition_key)',
    'CREATE TABLE transitions (\n\tid VARCHAR(255) NOT NULL, \n\tservice VARCHAR(255) NOT NULL, \n\tgo_live DATE, \n\tgate_status VARCHAR(32) NOT NULL, \n\tpayload JSON NOT NULL, \n\tcontent_hash VARCHAR(64) NOT NULL, \n\tupdated_at DATETIME NOT NULL, inputs_hash VARCHAR(64), \n\tCONSTRAINT pk_transitions PRIMARY KEY (id)\n)',
    'CREATE TABLE workload_cells (\n\tcapability VARCHAR(16) NOT NULL, \n\tpractice VARCHAR(64) NOT NULL, \n\tteam VARCHAR(255) NOT NULL, \n\tperiod_kind VARCHAR(8) NOT NULL, \n\tperiod VARCHAR(16) NOT NULL, \n\tperiod_start DATE NOT NULL, \n\topened INTEGER NOT NULL, \n\tclosed INTEGER NOT NULL, \n\topen_backlog INTEGER NOT NULL, \n\tmedian_age_days FLOAT, \n\teffort_hours FLOAT NOT NULL, \n\tsla_breaches INTEGER NOT NULL, \n\tCONSTRAINT pk_workload_cells PRIMARY KEY (capability, practice, team, period_kind, period)\n)',
    'CREATE TABLE lookup_entries (\n\tsource VARCHAR(64) NOT NULL, \n\tlookup VARCHAR(64) NOT NULL, \n\tentry VARCHAR(255) NOT NULL, \n\trecord_key VARCHAR(255) NOT NULL, \n\tpayload JSON NOT NULL, \n\tCONSTRAINT pk_lookup_entries PRIMARY KEY (source, lookup, entry)\n)',
    'CREATE INDEX ix_tickets_project_key ON tickets (project_key)',
    'CREATE INDEX ix_raw_records_identity_source_stream ON raw_records (identity, source, stream)',
    'CREATE TABLE snapshots (\n\tname VARCHAR(64) NOT NULL, \n\ttaken_at DATETIME NOT NULL, \n\tpayload JSON NOT NULL, \n\tCONSTRAINT pk_snapshots PRIMARY KEY (name)\n)',
    'CREATE TABLE daemon_members (\n\tid VARCHAR(255) NOT NULL, \n\tstarted_at FLOAT NOT NULL, \n\theartbeat_at FLOAT NOT NULL, \n\tCONSTRAINT pk_daemon_members PRIMARY KEY (id)\n)',
    'CREATE INDEX ix_raw_records_source_deleted ON raw_records (source, deleted)',
)
