-- Children in care (a snapshot): figures count in the month of the snapshot's date S, the record's
-- as_of (the as-of date of the load that brought the snapshot). In care on S: started on or before S, and not ceased on or before S.
-- S - 12 months is calendar-month arithmetic, the same on both engines (31 July 2023 - 12 months = 31 July 2022).
WITH c AS (
    SELECT team, care_start_date, last_dental_check_date, placements_last_12m, as_of AS s,
           CAST(as_of - INTERVAL '12 month' AS DATE) AS s_12m
    FROM children_in_care
    WHERE care_start_date <= as_of AND (care_end_date IS NULL OR care_end_date > as_of)
),
-- dental_up_to_date: DfE's cohort, in care 12 months or more on S; met if the last dental check
-- is within the 12 months up to S.
dental AS (
    SELECT 'dental_up_to_date' AS metric_id, CAST(date_trunc('month', s) AS DATE) AS period, team,
           count(*) FILTER (WHERE last_dental_check_date BETWEEN s_12m AND s) AS numerator,
           count(*) AS denominator
    FROM c WHERE care_start_date <= s_12m
    GROUP BY 1, 2, 3
),
-- placements_3plus: every child in care on S; met (the numerator) with 3 or more placements in 12 months.
placements AS (
    SELECT 'placements_3plus' AS metric_id, CAST(date_trunc('month', s) AS DATE) AS period, team,
           count(*) FILTER (WHERE placements_last_12m >= 3) AS numerator,
           count(*) AS denominator
    FROM c
    GROUP BY 1, 2, 3
)
SELECT metric_id, period, 'team' AS level, team AS org_unit,
       CAST(numerator AS DOUBLE PRECISION) AS numerator, CAST(denominator AS DOUBLE PRECISION) AS denominator
FROM (SELECT * FROM dental UNION ALL SELECT * FROM placements) AS rows
WHERE denominator > 0
