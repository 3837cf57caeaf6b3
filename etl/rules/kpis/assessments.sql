-- Assessments: team-level rows for assessments_45wd and seen_5wd.
-- Working days after S up to and including E = wd(E) - wd(S) (S is day 0),
-- through the calendar's running count: equi-joins, no per-case counting.
-- Each record is judged at its own as_of: the latest as-of date of any load that contained it.
WITH a AS (
    SELECT a.team, a.assessment_start_date AS started, a.child_seen_date AS seen,
           a.assessment_completed_date AS completed, a.child_seen AS seen_flag,
           cs.working_day_number AS wd_start, cv.working_day_number AS wd_seen,
           cc.working_day_number AS wd_completed, co.working_day_number AS wd_as_of
    FROM assessments a
    JOIN calendar cs ON cs.day = a.assessment_start_date
    LEFT JOIN calendar cv ON cv.day = a.child_seen_date
    LEFT JOIN calendar cc ON cc.day = a.assessment_completed_date
    LEFT JOIN calendar co ON co.day = a.as_of
),
-- assessments_45wd: completed assessments only, in the month of completion.
completed AS (
    SELECT 'assessments_45wd' AS metric_id, CAST(date_trunc('month', completed) AS DATE) AS period, team,
           count(*) FILTER (WHERE wd_completed - wd_start <= 45) AS numerator,
           count(*) AS denominator
    FROM a WHERE completed IS NOT NULL
    GROUP BY 1, 2, 3
),
-- seen_5wd: in the month of the start; met if seen within 5 working days; not
-- met if seen later, or not seen and even a visit on the as-of day would be late.
-- Not seen and still within the 5 days: not yet due, left out. A record that says only Yes/No
-- (child_seen, from a list without seen dates) cannot be timed: left out too.
seen AS (
    SELECT 'seen_5wd' AS metric_id, CAST(date_trunc('month', started) AS DATE) AS period, team,
           count(*) FILTER (WHERE seen IS NOT NULL AND wd_seen - wd_start <= 5) AS numerator,
           count(*) FILTER (WHERE seen IS NOT NULL OR wd_as_of - wd_start > 5) AS denominator
    FROM a WHERE seen_flag IS NULL
    GROUP BY 1, 2, 3
)
SELECT metric_id, period, 'team' AS level, team AS org_unit,
       CAST(numerator AS DOUBLE PRECISION) AS numerator, CAST(denominator AS DOUBLE PRECISION) AS denominator
FROM (SELECT * FROM completed UNION ALL SELECT * FROM seen) AS rows
WHERE denominator > 0
