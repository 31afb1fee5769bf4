-- 0003_jobs: the durable job queue (jobs), the bounded log of each job (job_events) and
-- the cron schedules that enqueue jobs (schedules). Written by workers/queue.c,
-- workers/job_store.c and workers/scheduler.c; see docs/jobs.md.

-- A job: one run of a job kind with its arguments, retried until max_attempts.
-- status: queued → running → succeeded | failed | cancelled (running → queued again on a
-- retry, an expired lease or a release at shutdown). A running job holds a lease
-- (lease_owner names the worker: host/pid/wN); every update made by a worker checks
-- lease_owner AND attempt, so a worker that lost its lease changes nothing.
CREATE TABLE jobs (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind             text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    args             jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(args) = 'object'),
    status           text NOT NULL DEFAULT 'queued'
                     CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    priority         smallint NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
    run_at           timestamptz NOT NULL DEFAULT now(),
    attempt          integer NOT NULL DEFAULT 0 CHECK (attempt >= 0),
    max_attempts     integer NOT NULL DEFAULT 3 CHECK (max_attempts BETWEEN 1 AND 100),
    lease_owner      text,
    lease_expires_at timestamptz,
    cancel_requested boolean NOT NULL DEFAULT false,
    progress_done    bigint NOT NULL DEFAULT 0,
    progress_total   bigint,
    progress_unit    text,
    count_ok         bigint NOT NULL DEFAULT 0,
    count_ignored    bigint NOT NULL DEFAULT 0,
    count_errors     bigint NOT NULL DEFAULT 0,
    result           jsonb,
    last_error       text,
    dedupe_key       text CHECK (length(dedupe_key) BETWEEN 1 AND 200),
    origin           text NOT NULL DEFAULT 'api' CHECK (origin IN ('api', 'cli', 'schedule')),
    schedule_name    text,
    created_by       bigint REFERENCES users (id),
    event_seq        integer NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT jobs_running_has_lease
        CHECK (status <> 'running' OR (lease_owner IS NOT NULL AND lease_expires_at IS NOT NULL)),
    CONSTRAINT jobs_finished_at_iff_final
        CHECK ((status IN ('succeeded', 'failed', 'cancelled')) = (finished_at IS NOT NULL))
);

-- The claim: the best due queued job (priority, then age), skipping locked rows.
CREATE INDEX jobs_claim ON jobs (priority DESC, run_at, id) WHERE status = 'queued';
-- The reaper: running jobs whose lease expired (their process died).
CREATE INDEX jobs_lease ON jobs (lease_expires_at) WHERE status = 'running';
-- At most one unfinished job per dedupe key (schedules use "schedule:<name>@<fire time>").
CREATE UNIQUE INDEX jobs_dedupe ON jobs (dedupe_key)
    WHERE dedupe_key IS NOT NULL AND status IN ('queued', 'running');
-- GET /jobs?kind=… (keyset on id), the prune of finished jobs, a schedule's last job.
CREATE INDEX jobs_kind_id ON jobs (kind, id);
CREATE INDEX jobs_finished_at ON jobs (finished_at) WHERE finished_at IS NOT NULL;
CREATE INDEX jobs_schedule_id ON jobs (schedule_name, id) WHERE schedule_name IS NOT NULL;

-- What a worker's outcome makes of a job: a retry (or an expired lease) queues it again
-- until max_attempts, then fails it; a release (shutdown) queues it again without
-- counting the attempt; a requested cancellation wins over both.
CREATE FUNCTION sluice_job_next_status(outcome text, cancel_requested boolean,
                                       attempt integer, max_attempts integer)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN outcome IN ('retry', 'release') AND cancel_requested THEN 'cancelled'
        WHEN outcome = 'retry' AND attempt >= max_attempts THEN 'failed'
        WHEN outcome IN ('retry', 'release') THEN 'queued'
        ELSE outcome
    END
$$;

-- Wake-up of idle workers (LISTEN sluice_jobs): on every insert and whenever a job
-- becomes queued again. Payloads are empty so that PostgreSQL folds the notifications
-- of one transaction into one.
CREATE FUNCTION sluice_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sluice_jobs', '');
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_jobs_notify();
CREATE TRIGGER jobs_notify_requeue AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued' AND OLD.status <> 'queued')
    EXECUTE FUNCTION sluice_jobs_notify();

-- Cancellation of a running job reaches its worker at once (LISTEN sluice_cancel,
-- payload: the job id); the lease renewal also reads cancel_requested as a fallback.
CREATE FUNCTION sluice_jobs_notify_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sluice_cancel', NEW.id::text);
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_notify_cancel AFTER UPDATE OF cancel_requested ON jobs
    FOR EACH ROW WHEN (NEW.cancel_requested AND NOT OLD.cancel_requested
                       AND NEW.status = 'running')
    EXECUTE FUNCTION sluice_jobs_notify_cancel();

-- The log of a job: seq counts per job (jobs.event_seq); the writer keeps only the last
-- 100 events of each job (workers/queue.c), so the table stays bounded.
CREATE TABLE job_events (
    job_id  bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    seq     integer NOT NULL,
    at      timestamptz NOT NULL DEFAULT clock_timestamp(),
    level   text NOT NULL CHECK (level IN ('debug', 'info', 'warn', 'error')),
    message text NOT NULL CHECK (length(message) <= 2000),
    PRIMARY KEY (job_id, seq)
);

-- A cron schedule: SCHEDULES (configuration) creates and updates them, the API edits
-- cron, args and enabled. config_spec is the configuration entry the row was last
-- synchronised from: an API edit survives restarts until that entry changes.
-- last_fire_at is the latest fire time enqueued; the scheduler moves it forward with a
-- conditional update in the same statement as the enqueue, so that several sluice
-- copies enqueue each fire once.
CREATE TABLE schedules (
    name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    cron         text NOT NULL CHECK (length(cron) BETWEEN 1 AND 200),
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_.-]{0,63}$'),
    args         jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(args) = 'object'),
    enabled      boolean NOT NULL DEFAULT true,
    config_spec  text NOT NULL,
    last_fire_at timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER schedules_touch BEFORE UPDATE ON schedules
    FOR EACH ROW EXECUTE FUNCTION sluice_touch_updated_at();
