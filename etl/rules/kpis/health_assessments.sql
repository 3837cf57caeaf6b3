-- Initial health assessments, record by record: every child's IHA judged for iha_20wd, counted in
-- the month care started (metrics.yml counted_on). The start is day 0; the deadline is the working
-- day N working days after it (metrics.yml clock). Met if the IHA is on or before it, late if after;
-- with no IHA, overdue once the day judged (coalesce($on, as_of): the record's own as-of date, or
-- the due list's "now") is past it (counted, not met), else not yet due (listed, outside the figure).
WITH h AS (
    SELECT h.child_id, h.team, h.worker, h.care_start_date AS started, h.iha_date AS done,
           {iha_20wd.counted_on} AS counted,
           cs.working_day_number AS wd_start, cd.working_day_number AS wd_done,
           co.working_day_number AS wd_on
    FROM health_assessments h
    JOIN calendar cs ON cs.day = h.care_start_date
    LEFT JOIN calendar cd ON cd.day = h.iha_date
    LEFT JOIN calendar co ON co.day = coalesce(CAST($on AS DATE), h.as_of)
),
deadlines AS (
    SELECT working_day_number, min(day) AS day FROM calendar WHERE is_working_day GROUP BY working_day_number
)
SELECT 'iha_20wd' AS metric_id, CAST(date_trunc('month', h.counted) AS DATE) AS period, h.team, h.child_id,
       CAST(h.started AS VARCHAR) AS start, CAST(d.day AS VARCHAR) AS deadline,
       CAST(h.done AS VARCHAR) AS event_date, coalesce(h.wd_done, h.wd_on) - h.wd_start AS working_days,
       CASE WHEN h.done IS NOT NULL AND h.wd_done - h.wd_start <= {iha_20wd.working_days} THEN 'met'
            WHEN h.done IS NOT NULL THEN 'late'
            WHEN h.wd_on - h.wd_start > {iha_20wd.working_days} THEN 'overdue'
            ELSE 'not yet due' END AS outcome,
       d.working_day_number AS deadline_wd, CAST(d.day AS TIMESTAMP) AS due_at, h.worker
FROM h LEFT JOIN deadlines d ON d.working_day_number = h.wd_start + {iha_20wd.working_days}
