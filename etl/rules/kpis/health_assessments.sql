-- Initial health assessments: iha_20wd, counted in the month care started.
-- Met if the IHA is within 20 working days of care_start_date (start is day 0);
-- not met if later, or not done and even an IHA on the as-of day would be late;
-- not done and still within the 20 days: not yet due, left out. The as-of date is the
-- record's own: the latest as-of date of any load that contained it.
WITH h AS (
    SELECT h.team, h.care_start_date AS started, h.iha_date AS done,
           cs.working_day_number AS wd_start, cd.working_day_number AS wd_done,
           co.working_day_number AS wd_as_of
    FROM health_assessments h
    JOIN calendar cs ON cs.day = h.care_start_date
    LEFT JOIN calendar cd ON cd.day = h.iha_date
    LEFT JOIN calendar co ON co.day = h.as_of
)
SELECT 'iha_20wd' AS metric_id, CAST(date_trunc('month', started) AS DATE) AS period, 'team' AS level,
       team AS org_unit,
       CAST(count(*) FILTER (WHERE done IS NOT NULL AND wd_done - wd_start <= 20) AS DOUBLE PRECISION) AS numerator,
       CAST(count(*) FILTER (WHERE done IS NOT NULL OR wd_as_of - wd_start > 20) AS DOUBLE PRECISION) AS denominator
FROM h
GROUP BY 1, 2, 3, 4
HAVING count(*) FILTER (WHERE done IS NOT NULL OR wd_as_of - wd_start > 20) > 0
