-- Missing episodes: rhi_72h and the missing_episodes count.
-- rhi_72h: episodes with a return, in the month of return; wall-clock datetimes
-- (no time zone), met if rhi_completed_at - returned_at <= 72 hours. With no RHI,
-- not met only once the deadline (returned_at + 72h) is before the as-of day
-- began (the record's own as-of: the latest of any load that contained it); the
-- extract's time of day is unknown, so we never call it late early.
WITH rhi AS (
    SELECT 'rhi_72h' AS metric_id, CAST(date_trunc('month', m.returned_at) AS DATE) AS period, m.team,
           count(*) FILTER (
               WHERE m.rhi_completed_at IS NOT NULL AND m.rhi_completed_at <= m.returned_at + INTERVAL '72 hours'
           ) AS numerator,
           count(*) FILTER (
               WHERE m.rhi_completed_at IS NOT NULL OR m.returned_at + INTERVAL '72 hours' < CAST(m.as_of AS TIMESTAMP)
           ) AS denominator
    FROM missing_episodes m
    WHERE m.returned_at IS NOT NULL
    GROUP BY 1, 2, 3
),
-- missing_episodes: a count of episodes by the month the child went missing.
episodes AS (
    SELECT 'missing_episodes' AS metric_id, CAST(date_trunc('month', missing_start) AS DATE) AS period, team,
           count(*) AS numerator, CAST(NULL AS BIGINT) AS denominator
    FROM missing_episodes
    GROUP BY 1, 2, 3
)
SELECT metric_id, period, 'team' AS level, team AS org_unit,
       CAST(numerator AS DOUBLE PRECISION) AS numerator, CAST(denominator AS DOUBLE PRECISION) AS denominator
FROM (SELECT * FROM rhi WHERE denominator > 0 UNION ALL SELECT * FROM episodes) AS rows
