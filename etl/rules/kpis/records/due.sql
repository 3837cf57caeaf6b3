-- What falls due: for each timed KPI, the open records whose deadline falls in
-- the next $days working days, and those already overdue. "Now" is $on, or the
-- latest as-of date of its extract type's records (that of the latest load
-- that brought any of them). Due and overdue follow the KPI rules exactly: working-day deadlines are
-- overdue once a visit today would be late (wd(now) - wd(start) > N); the 72-hour
-- deadline once it is before today began.
WITH now_of AS (
    SELECT 'assessments' AS source, coalesce(CAST($on AS DATE),
           (SELECT max(as_of) FROM assessments)) AS today
    UNION ALL
    SELECT 'health_assessments', coalesce(CAST($on AS DATE),
           (SELECT max(as_of) FROM health_assessments))
    UNION ALL
    SELECT 'missing_episodes', coalesce(CAST($on AS DATE),
           (SELECT max(as_of) FROM missing_episodes))
    UNION ALL
    SELECT 's47_enquiries', coalesce(CAST($on AS DATE),
           (SELECT max(as_of) FROM s47_enquiries))
),
open_records AS (
    SELECT 'seen_5wd' AS metric_id, 'assessments' AS source, child_id, team, assessment_start_date AS started,
           5 AS allowed
    -- A visit given only as Yes/No (child_seen) cannot be timed: never due, as seen_5wd leaves it out.
    FROM assessments WHERE child_seen_date IS NULL AND child_seen IS NULL
    UNION ALL
    SELECT 'assessments_45wd', 'assessments', child_id, team, assessment_start_date, 45
    FROM assessments WHERE assessment_completed_date IS NULL
    UNION ALL
    SELECT 'iha_20wd', 'health_assessments', child_id, team, care_start_date, 20
    FROM health_assessments WHERE iha_date IS NULL
    UNION ALL
    -- An enquiry whose conference is not yet held, and not deemed unnecessary.
    SELECT 'icpc_15wd', 's47_enquiries', child_id, team, strategy_discussion_date, 15
    FROM s47_enquiries WHERE icpc_date IS NULL AND icpc_not_required IS NOT TRUE
),
deadlines AS (
    SELECT working_day_number, min(day) AS day FROM calendar WHERE is_working_day GROUP BY working_day_number
),
working_day_rows AS (
    SELECT o.metric_id, o.child_id, o.team, CAST(o.started AS VARCHAR) AS start,
           CAST(d.day AS VARCHAR) AS deadline, CAST(d.day AS TIMESTAMP) AS due_at,
           CASE WHEN cn.working_day_number - cs.working_day_number > o.allowed THEN 'overdue' ELSE 'due' END AS outcome
    FROM open_records o
    JOIN now_of n USING (source)
    JOIN calendar cs ON cs.day = o.started
    JOIN calendar cn ON cn.day = n.today
    JOIN deadlines d ON d.working_day_number = cs.working_day_number + o.allowed
    WHERE cs.working_day_number + o.allowed <= cn.working_day_number + $days
),
rhi_rows AS (
    SELECT 'rhi_72h' AS metric_id, m.child_id, m.team, substr(CAST(m.returned_at AS VARCHAR), 1, 16) AS start,
           substr(CAST(m.returned_at + INTERVAL '72 hours' AS VARCHAR), 1, 16) AS deadline,
           m.returned_at + INTERVAL '72 hours' AS due_at,
           CASE WHEN m.returned_at + INTERVAL '72 hours' < CAST(n.today AS TIMESTAMP) THEN 'overdue' ELSE 'due' END
    FROM missing_episodes m
    JOIN now_of n ON n.source = 'missing_episodes'
    JOIN calendar cn ON cn.day = n.today
    JOIN calendar cd ON cd.day = CAST(m.returned_at + INTERVAL '72 hours' AS DATE)
    WHERE m.returned_at IS NOT NULL AND m.rhi_completed_at IS NULL
      AND cd.working_day_number <= cn.working_day_number + $days
)
SELECT metric_id, child_id, team, start, deadline, outcome, due_at
FROM (SELECT * FROM working_day_rows UNION ALL SELECT * FROM rhi_rows) AS due_rows
