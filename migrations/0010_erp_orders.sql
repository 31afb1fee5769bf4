-- 0010 ERP orders (issue 11): the history of order synchronisations and what each order
-- keeps of the ERP.
--
-- sync_runs: one row per run of the orders.sync job kind (started when the run starts,
-- finished in the same transaction as the orders it replaced, or with the error that
-- stopped it). rejected_by counts rejected rows by the field at fault:
-- {"numero_commande": 3, "date_modification": 12, ...}.
CREATE TABLE sync_runs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind text NOT NULL DEFAULT 'orders.sync',
    job_id bigint,           -- the job that ran it (NULL: `sluice jobs run`); no FK, jobs are pruned
    attempt integer NOT NULL DEFAULT 1,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running'
        CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled')),
    rows_read bigint NOT NULL DEFAULT 0,
    inserted bigint NOT NULL DEFAULT 0,
    updated bigint NOT NULL DEFAULT 0,
    deleted bigint NOT NULL DEFAULT 0,
    unchanged bigint NOT NULL DEFAULT 0,
    duplicates bigint NOT NULL DEFAULT 0,
    rejected bigint NOT NULL DEFAULT 0,
    rejected_by jsonb NOT NULL DEFAULT '{}'::jsonb,
    error text,
    CHECK ((status = 'running') = (finished_at IS NULL))
);
-- GET /sync-runs: newest first (keyset on id).
CREATE INDEX sync_runs_job ON sync_runs (job_id);

-- The ERP's status text as read (cleaned), beside the canonical status; NULL for orders
-- created through the API.
ALTER TABLE commandes_volets_roulants ADD COLUMN status_source text;
-- The synchronisation deletes the ERP rows that left the query's result.
CREATE INDEX commandes_volets_source ON commandes_volets_roulants (source);
