-- Assessments, record by record: the rows that assessments.sql counts, with why.
-- Same joins and the same rules as the mart: working days after S up to and
-- including E = wd(E) - wd(S); each record judged at its own as_of (the latest
-- as-of date of any load that contained it).
-- deadline = the working day that is N working days after the start.
WITH a AS (
    SELECT a.child_id, a.team, a.assessment_start_date AS started, a.child_seen_date AS seen,
           a.assessment_completed_date AS completed,
           cs.working_day_number AS wd_start, cv.working_day_number AS wd_seen,
           cc.working_day_number AS wd_completed, co.working_day_number AS wd_as_of
    FROM assessments a
    JOIN calendar cs ON cs.day = a.assessment_start_date
    LEFT JOIN calendar cv ON cv.day = a.child_seen_date
    LEFT JOIN calendar cc ON cc.day = a.assessment_completed_date
    LEFT JOIN calendar co ON co.day = a.as_of
),
deadlines AS (
    SELECT working_day_number, min(day) AS day FROM calendar WHERE is_working_day GROUP BY working_day_number
)
-- assessments_45wd: completed assessments, in the month of completion.
SELECT 'assessments_45wd' AS metric_id, CAST(date_trunc('month', a.completed) AS DATE) AS period, a.team, a.child_id,
       CAST(a.started AS VARCHAR) AS start, CAST(d.day AS VARCHAR) AS deadline,
       CAST(a.completed AS VARCHAR) AS event_date, a.wd_completed - a.wd_start AS working_days,
       CASE WHEN a.wd_completed - a.wd_start <= 45 THEN 'met' ELSE 'late' END AS outcome
FROM a LEFT JOIN deadlines d ON d.working_day_number = a.wd_start + 45
WHERE a.completed IS NOT NULL
UNION ALL
-- seen_5wd: in the month of the start. Not seen and already past the 5 days by
-- the as-of date: overdue (counted, not met). Not seen and still inside them:
-- not yet due (listed, left out of the figure). working_days runs to the visit,
-- or to the as-of date while there is none.
SELECT 'seen_5wd', CAST(date_trunc('month', a.started) AS DATE), a.team, a.child_id,
       CAST(a.started AS VARCHAR), CAST(d.day AS VARCHAR), CAST(a.seen AS VARCHAR),
       coalesce(a.wd_seen, a.wd_as_of) - a.wd_start,
       CASE WHEN a.seen IS NOT NULL AND a.wd_seen - a.wd_start <= 5 THEN 'met'
            WHEN a.seen IS NOT NULL THEN 'late'
            WHEN a.wd_as_of - a.wd_start > 5 THEN 'overdue'
            ELSE 'not yet due' END
FROM a LEFT JOIN deadlines d ON d.working_day_number = a.wd_start + 5
