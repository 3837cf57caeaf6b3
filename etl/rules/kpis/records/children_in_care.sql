-- Children in care (a snapshot), record by record: the children children_in_care.sql counts, in the
-- month of the snapshot's date S (the record's as_of). No deadline: `met` is the numerator.
-- dental_up_to_date: in care on S for 12 months or more; met if the last dental check is within the
-- 12 months up to S (event_date is that check). placements_3plus: in care on S; met (the numerator)
-- with 3 or more placements in the last 12 months.
WITH c AS (
    SELECT child_id, team, care_start_date, last_dental_check_date, placements_last_12m, as_of AS s,
           CAST(as_of - INTERVAL '12 month' AS DATE) AS s_12m
    FROM children_in_care
    WHERE care_start_date <= as_of AND (care_end_date IS NULL OR care_end_date > as_of)
)
SELECT 'dental_up_to_date' AS metric_id, CAST(date_trunc('month', s) AS DATE) AS period, team, child_id,
       CAST(care_start_date AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CAST(last_dental_check_date AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN last_dental_check_date BETWEEN s_12m AND s THEN 'met' ELSE 'not met' END AS outcome
FROM c WHERE care_start_date <= s_12m
UNION ALL
SELECT 'placements_3plus', CAST(date_trunc('month', s) AS DATE), team, child_id,
       CAST(care_start_date AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER),
       CASE WHEN placements_last_12m >= 3 THEN 'met' ELSE 'not met' END
FROM c
