-- Initial health assessments, record by record: the rows health_assessments.sql
-- counts for iha_20wd, in the month care started, with the same rules.
WITH h AS (
    SELECT h.child_id, h.team, h.care_start_date AS started, h.iha_date AS done,
           cs.working_day_number AS wd_start, cd.working_day_number AS wd_done,
           co.working_day_number AS wd_as_of
    FROM health_assessments h
    JOIN calendar cs ON cs.day = h.care_start_date
    LEFT JOIN calendar cd ON cd.day = h.iha_date
    LEFT JOIN calendar co ON co.day = h.as_of
),
deadlines AS (
    SELECT working_day_number, min(day) AS day FROM calendar WHERE is_working_day GROUP BY working_day_number
)
SELECT 'iha_20wd' AS metric_id, CAST(date_trunc('month', h.started) AS DATE) AS period, h.team, h.child_id,
       CAST(h.started AS VARCHAR) AS start, CAST(d.day AS VARCHAR) AS deadline,
       CAST(h.done AS VARCHAR) AS event_date, coalesce(h.wd_done, h.wd_as_of) - h.wd_start AS working_days,
       CASE WHEN h.done IS NOT NULL AND h.wd_done - h.wd_start <= 20 THEN 'met'
            WHEN h.done IS NOT NULL THEN 'late'
            WHEN h.wd_as_of - h.wd_start > 20 THEN 'overdue'
            ELSE 'not yet due' END AS outcome
FROM h LEFT JOIN deadlines d ON d.working_day_number = h.wd_start + 20
