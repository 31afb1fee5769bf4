-- 0007_job_queues: job queues (issue 9 point 5). A job kind names its queue (struct
-- job_kind.queue in workers/, "default" unless said otherwise); the queue is recorded
-- with each job at enqueue, and the workers of a queue (JOB_QUEUES=default:2,ingest:2)
-- claim only that queue's jobs, so long ingestions never hold up the other jobs.
-- See docs/jobs.md "Queues".
ALTER TABLE jobs ADD COLUMN queue text NOT NULL DEFAULT 'default'
    CHECK (queue ~ '^[a-z][a-z0-9_-]{0,31}$');

-- The claim: the best due queued job of one queue (priority, then age).
DROP INDEX jobs_claim;
CREATE INDEX jobs_claim ON jobs (queue, priority DESC, run_at, id) WHERE status = 'queued';

-- Wake-ups name the queue (payload), so that only that queue's idle workers look; one
-- notification per queue and transaction (PostgreSQL folds equal payloads).
DROP TRIGGER jobs_notify_insert ON jobs;
DROP TRIGGER jobs_notify_requeue ON jobs;
DROP FUNCTION sluice_jobs_notify();

CREATE FUNCTION sluice_jobs_notify_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sluice_jobs', q.queue) FROM (SELECT DISTINCT queue FROM inserted) q;
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS inserted
    FOR EACH STATEMENT EXECUTE FUNCTION sluice_jobs_notify_insert();

CREATE FUNCTION sluice_jobs_notify_requeue() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('sluice_jobs', NEW.queue);
    RETURN NULL;
END $$;

CREATE TRIGGER jobs_notify_requeue AFTER UPDATE OF status ON jobs
    FOR EACH ROW WHEN (NEW.status = 'queued' AND OLD.status <> 'queued')
    EXECUTE FUNCTION sluice_jobs_notify_requeue();
