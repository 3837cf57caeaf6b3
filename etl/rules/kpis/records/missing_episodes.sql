-- Missing episodes, record by record: the rows missing_episodes.sql counts.
-- rhi_72h: episodes with a return, in the month of return; the deadline is
-- returned_at + 72 hours (wall-clock); with no interview, overdue only once the
-- deadline is before the as-of day began, as the mart says. Hours, not working
-- days, so working_days is empty.
SELECT 'rhi_72h' AS metric_id, CAST(date_trunc('month', m.returned_at) AS DATE) AS period, m.team, m.child_id,
       substr(CAST(m.returned_at AS VARCHAR), 1, 16) AS start,
       substr(CAST(m.returned_at + INTERVAL '72 hours' AS VARCHAR), 1, 16) AS deadline,
       substr(CAST(m.rhi_completed_at AS VARCHAR), 1, 16) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN m.rhi_completed_at IS NOT NULL AND m.rhi_completed_at <= m.returned_at + INTERVAL '72 hours'
            THEN 'met'
            WHEN m.rhi_completed_at IS NOT NULL THEN 'late'
            WHEN m.returned_at + INTERVAL '72 hours' < CAST(m.as_of AS TIMESTAMP) THEN 'overdue'
            ELSE 'not yet due' END AS outcome
FROM missing_episodes m
WHERE m.returned_at IS NOT NULL
UNION ALL
-- missing_episodes: a count, by the month the child went missing; no deadline.
SELECT 'missing_episodes', CAST(date_trunc('month', missing_start) AS DATE), team, child_id,
       substr(CAST(missing_start AS VARCHAR), 1, 16), CAST(NULL AS VARCHAR), substr(CAST(returned_at AS VARCHAR), 1, 16),
       CAST(NULL AS INTEGER), CAST(NULL AS VARCHAR)
FROM missing_episodes
