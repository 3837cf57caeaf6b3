-- Section 47 enquiries, record by record: icpc_15wd, counted in the month of the conference
-- (metrics.yml counted_on). The strategy discussion that started the enquiry is day 0; the deadline
-- is the working day N working days after it (metrics.yml clock). A conference held is met on or
-- before it, late after it. An enquiry awaiting its conference (none held, and not deemed
-- unnecessary) is in no month's figure (period NULL) but falls due: overdue once the day judged
-- (coalesce($on, as_of): the record's own as-of date, or the due list's "now") is past the deadline.
-- An enquiry whose conference was not required is in no row at all.
WITH s AS (
    SELECT s.*, cs.working_day_number AS wd_start, ci.working_day_number AS wd_held,
           co.working_day_number AS wd_on
    FROM s47_enquiries s
    JOIN calendar cs ON cs.day = s.strategy_discussion_date
    LEFT JOIN calendar ci ON ci.day = s.icpc_date
    LEFT JOIN calendar co ON co.day = coalesce(CAST($on AS DATE), s.as_of)
    WHERE (s.icpc_date IS NOT NULL AND ci.day IS NOT NULL)
       OR (s.icpc_date IS NULL AND s.icpc_not_required IS NOT TRUE)
),
deadlines AS (
    SELECT working_day_number, min(day) AS day FROM calendar WHERE is_working_day GROUP BY working_day_number
)
SELECT 'icpc_15wd' AS metric_id, CAST(date_trunc('month', {icpc_15wd.counted_on}) AS DATE) AS period,
       {icpc_15wd.team:s} AS team,
       s.child_id, CAST(s.strategy_discussion_date AS VARCHAR) AS start, CAST(d.day AS VARCHAR) AS deadline,
       CAST(s.icpc_date AS VARCHAR) AS event_date, coalesce(s.wd_held, s.wd_on) - s.wd_start AS working_days,
       CASE WHEN s.icpc_date IS NOT NULL AND s.wd_held - s.wd_start <= {icpc_15wd.working_days} THEN 'met'
            WHEN s.icpc_date IS NOT NULL THEN 'late'
            WHEN s.wd_on - s.wd_start > {icpc_15wd.working_days} THEN 'overdue'
            ELSE 'not yet due' END AS outcome,
       d.working_day_number AS deadline_wd, CAST(d.day AS TIMESTAMP) AS due_at, s.worker
FROM s LEFT JOIN deadlines d ON d.working_day_number = s.wd_start + {icpc_15wd.working_days}
