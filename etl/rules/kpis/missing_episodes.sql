-- Missing episodes, record by record: rhi_72h and the missing_episodes count.
-- rhi_72h: episodes with a return, counted in the month of return; wall-clock datetimes (no time
-- zone); the deadline is returned_at + the clock's hours (metrics.yml). Met if the interview is on
-- or before it, late if after. With no interview, overdue only once the deadline is before the day
-- judged began (coalesce($on, as_of): the record's own as-of date, or the due list's "now"); the
-- extract's time of day is unknown, so we never call it late early. Hours, not working days, so
-- working_days is empty; deadline_wd is the working-day number of the deadline's date (the due list).
WITH m AS (
    SELECT m.*, m.returned_at + {rhi_72h.hours} * INTERVAL '1 hour' AS due,
           CAST(coalesce(CAST($on AS DATE), m.as_of) AS TIMESTAMP) AS judged
    FROM missing_episodes m
)
SELECT 'rhi_72h' AS metric_id, CAST(date_trunc('month', {rhi_72h.counted_on}) AS DATE) AS period, m.team,
       m.child_id, substr(CAST(m.returned_at AS VARCHAR), 1, 16) AS start,
       substr(CAST(m.due AS VARCHAR), 1, 16) AS deadline,
       substr(CAST(m.rhi_completed_at AS VARCHAR), 1, 16) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN m.rhi_completed_at IS NOT NULL AND m.rhi_completed_at <= m.due THEN 'met'
            WHEN m.rhi_completed_at IS NOT NULL THEN 'late'
            WHEN m.due < m.judged THEN 'overdue'
            ELSE 'not yet due' END AS outcome,
       cd.working_day_number AS deadline_wd, m.due AS due_at, m.worker
FROM m LEFT JOIN calendar cd ON cd.day = CAST(m.due AS DATE)
WHERE m.returned_at IS NOT NULL
UNION ALL
-- missing_episodes: a count of episodes, by the month the child went missing; no deadline, no outcome.
SELECT 'missing_episodes', CAST(date_trunc('month', {missing_episodes.counted_on}) AS DATE), m.team, m.child_id,
       substr(CAST(m.missing_start AS VARCHAR), 1, 16), CAST(NULL AS VARCHAR),
       substr(CAST(m.returned_at AS VARCHAR), 1, 16), CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR),
       CAST(NULL AS INTEGER), CAST(NULL AS TIMESTAMP), m.worker
FROM m
