-- Assessments, record by record: every assessment judged for assessments_45wd and seen_5wd. The
-- mart (kpi_monthly), the child lists and the due list are all selections from these rows
-- (etl/rules/kpis/__init__.py), so they cannot disagree.
-- Working days after S up to and including E = wd(E) - wd(S) (S is day 0), through the calendar's
-- running count: equi-joins, no per-case counting. The deadline is the working day N working days
-- after the start. A record is judged on coalesce($on, as_of): its own as-of date (the latest of any
-- load that contained it), or the due list's "now". Clocks and counted dates are metrics.yml's
-- ({metric.field}, substituted when the SQL is loaded). {metric.team:alias}: the team a record counts
-- for in that KPI (an Unallocated one takes its child's allocation on the counted date, child_teams).
WITH a AS (
    SELECT a.child_id, a.worker, {assessments_45wd.team:a} AS team_45, {seen_5wd.team:a} AS team_5,
           a.assessment_start_date AS started, a.child_seen_date AS seen,
           a.assessment_completed_date AS completed, a.child_seen AS seen_flag, a.seen_not_recorded,
           {assessments_45wd.counted_on} AS counted_45, {seen_5wd.counted_on} AS counted_5,
           cs.working_day_number AS wd_start, cv.working_day_number AS wd_seen,
           cc.working_day_number AS wd_completed, co.working_day_number AS wd_on
    FROM assessments a
    JOIN calendar cs ON cs.day = a.assessment_start_date
    LEFT JOIN calendar cv ON cv.day = a.child_seen_date
    LEFT JOIN calendar cc ON cc.day = a.assessment_completed_date
    LEFT JOIN calendar co ON co.day = coalesce(CAST($on AS DATE), a.as_of)
),
deadlines AS (
    SELECT working_day_number, min(day) AS day FROM calendar WHERE is_working_day GROUP BY working_day_number
)
-- assessments_45wd: counted in the month of completion (an open assessment is in no month's
-- figure, period NULL, but falls due); met if completed within the clock, late if after it.
SELECT 'assessments_45wd' AS metric_id, CAST(date_trunc('month', a.counted_45) AS DATE) AS period, a.team_45 AS team,
       a.child_id, CAST(a.started AS VARCHAR) AS start, CAST(d.day AS VARCHAR) AS deadline,
       CAST(a.completed AS VARCHAR) AS event_date, coalesce(a.wd_completed, a.wd_on) - a.wd_start AS working_days,
       CASE WHEN a.completed IS NOT NULL AND a.wd_completed - a.wd_start <= {assessments_45wd.working_days} THEN 'met'
            WHEN a.completed IS NOT NULL THEN 'late'
            WHEN a.wd_on - a.wd_start > {assessments_45wd.working_days} THEN 'overdue'
            ELSE 'not yet due' END AS outcome,
       d.working_day_number AS deadline_wd, CAST(d.day AS TIMESTAMP) AS due_at, a.worker
FROM a LEFT JOIN deadlines d ON d.working_day_number = a.wd_start + {assessments_45wd.working_days}
UNION ALL
-- seen_5wd: counted in the month of the start. Not seen and already past the clock on the day
-- judged: overdue (counted, not met). Not seen and still inside it: not yet due (listed, left out
-- of the figure). working_days runs to the visit, or to the day judged while there is none. A
-- record that says only Yes/No (child_seen, from a list without seen dates) cannot be timed: it is
-- in no row of seen_5wd, so in no figure, child list or due list; nor is one whose source records
-- nothing about seeing the child (seen_not_recorded: the CIN census).
SELECT 'seen_5wd', CAST(date_trunc('month', a.counted_5) AS DATE), a.team_5, a.child_id,
       CAST(a.started AS VARCHAR), CAST(d.day AS VARCHAR), CAST(a.seen AS VARCHAR),
       coalesce(a.wd_seen, a.wd_on) - a.wd_start,
       CASE WHEN a.seen IS NOT NULL AND a.wd_seen - a.wd_start <= {seen_5wd.working_days} THEN 'met'
            WHEN a.seen IS NOT NULL THEN 'late'
            WHEN a.wd_on - a.wd_start > {seen_5wd.working_days} THEN 'overdue'
            ELSE 'not yet due' END,
       d.working_day_number, CAST(d.day AS TIMESTAMP), a.worker
FROM a LEFT JOIN deadlines d ON d.working_day_number = a.wd_start + {seen_5wd.working_days}
WHERE a.seen_flag IS NULL AND a.seen_not_recorded IS NOT TRUE
