-- Missing episodes, record by record: the rows missing_episodes.sql counts.
-- rhi_72h: episodes with a return, in the month of return; the deadline is
-- returned_at + 72 hours (wall-clock); with no interview, overdue only once the
-- deadline is before the as-of day began, as the mart says. Hours, not working
-- days, so working_days is empty.
SELECT 'rhi_72h' AS metric_id, CAST(date_trunc('month', m.returned_at) AS DATE) AS period, m.team, m.child_id,
       strftime(m.returned_at, '%Y-%m-%d %H:%M') AS start,
       strftime(m.returned_at + INTERVAL 72 HOUR, '%Y-%m-%d %H:%M') AS deadline,
       strftime(m.rhi_completed_at, '%Y-%m-%d %H:%M') AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN m.rhi_completed_at IS NOT NULL AND m.rhi_completed_at <= m.returned_at + INTERVAL 72 HOUR THEN 'met'
            WHEN m.rhi_completed_at IS NOT NULL THEN 'late'
            WHEN m.returned_at + INTERVAL 72 HOUR < CAST(m.as_of AS TIMESTAMP) THEN 'overdue'
            ELSE 'not yet due' END AS outcome
FROM missing_episodes m
WHERE m.returned_at IS NOT NULL
UNION ALL
-- missing_episodes: a count, by the month the child went missing; no deadline.
SELECT 'missing_episodes', CAST(date_trunc('month', missing_start) AS DATE), team, child_id,
       strftime(missing_start, '%Y-%m-%d %H:%M'), NULL, strftime(returned_at, '%Y-%m-%d %H:%M'), NULL, NULL
FROM missing_episodes
