-- SSDA903 OC2, record by record: the year-end health figures, counted in March of each collection year an OC2
-- table was returned for (year_end, 31 March). Cohort: the children looked after continuously for 12 months at
-- 31 March, worked out from the episodes (the national validator's definition: an episode in the year, and none
-- starting care (S) after 1 April, none ending care (not X1) on or after 1 April and before 31 March, none in the
-- year under a short-break status V3 or V4). A cohort child with no OC2 row counts as not done (903 rule 191
-- says so at load). dental_up_to_date: met if TEETH_CHECK is 1; cla_health_assessments: HEALTH_ASSESSMENT 1;
-- sdq_completed: the cohort aged 5 to 16 at 31 March (from OC2's date of birth), met if an SDQ score is given.
-- No deadline. DfE publishes them in la_conviction_health_outcome_cla.csv.
-- dental_up_to_date is counted from List 8 too: its source is children_in_care, whose rule takes these OC2 rows
-- for the months a return speaks for (children_in_care.sql).
WITH years AS (
    SELECT year_end, max(as_of) AS as_of, CAST(year_end - INTERVAL '12 month' + INTERVAL '1 day' AS DATE) AS y0
    FROM health_outcomes GROUP BY year_end
),
cohort AS (
    SELECT y.year_end, e.child_id, max(e.team) AS team, y.as_of
    FROM years y JOIN care_episodes e ON e.decom <= y.year_end AND (e.dec IS NULL OR e.dec >= y.y0)
    GROUP BY y.year_end, y.y0, y.as_of, e.child_id
    HAVING NOT coalesce(bool_or(e.rne = 'S' AND e.decom > y.y0), false)
       AND NOT coalesce(bool_or(e.dec IS NOT NULL AND coalesce(e.rec, '') <> 'X1' AND e.dec >= y.y0
                                AND e.dec < y.year_end), false)
       AND NOT coalesce(bool_or(e.legal_status IN ('V3', 'V4')), false)
),
c AS (
    SELECT k.year_end, k.child_id, k.team, k.as_of, h.teeth_check, h.health_assessment, h.sdq_score, h.age_at_31_march
    FROM cohort k LEFT JOIN health_outcomes h ON h.child_id = k.child_id AND h.year_end = k.year_end
)
SELECT 'dental_up_to_date' AS metric_id, CAST(date_trunc('month', c.year_end) AS DATE) AS period,
       {dental_up_to_date.team:c:year_end} AS team, c.child_id, CAST(c.year_end AS VARCHAR) AS start,
       CAST(NULL AS VARCHAR) AS deadline, CAST(NULL AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN c.teeth_check THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM c
UNION ALL
SELECT 'cla_health_assessments', CAST(date_trunc('month', c.year_end) AS DATE),
       {cla_health_assessments.team:c:year_end}, c.child_id, CAST(c.year_end AS VARCHAR), CAST(NULL AS VARCHAR),
       CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER),
       CASE WHEN c.health_assessment THEN 'met' ELSE 'not met' END, CAST(NULL AS INTEGER), CAST(NULL AS TIMESTAMP)
FROM c
UNION ALL
SELECT 'sdq_completed', CAST(date_trunc('month', c.year_end) AS DATE),
       {sdq_completed.team:c:year_end}, c.child_id, CAST(c.year_end AS VARCHAR), CAST(NULL AS VARCHAR),
       CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER),
       CASE WHEN c.sdq_score IS NOT NULL THEN 'met' ELSE 'not met' END, CAST(NULL AS INTEGER), CAST(NULL AS TIMESTAMP)
FROM c WHERE c.age_at_31_march BETWEEN 5 AND 16
