-- Children in care (a snapshot), record by record: the children in care on the snapshot's date S
-- (the record's as_of: the as-of date of the load that brought the snapshot), counted in the month of
-- S (metrics.yml counted_on: as_of). In care on S: started on or before S, and not ceased on or before
-- S. S - 12 months is calendar-month arithmetic, the same on both engines (31 July 2023 - 12 months =
-- 31 July 2022). No deadline: `met` is the numerator.
WITH c AS (
    SELECT *, as_of AS s, CAST(as_of - INTERVAL '12 month' AS DATE) AS s_12m
    FROM children_in_care
    WHERE care_start_date <= as_of AND (care_end_date IS NULL OR care_end_date > as_of)
),
-- The SSDA903's OC2 gives dental_up_to_date at 31 March (etl/rules/kpis/health_outcomes.sql, included whole):
-- where a return and a List 8 snapshot give the same month, the newer as-of date speaks (a tie goes to the
-- return; docs/spec/windows.md). A snapshot's records all carry its as-of date.
oc2 AS (
    SELECT CAST(date_trunc('month', year_end) AS DATE) AS month, max(as_of) AS as_of
    FROM health_outcomes GROUP BY CAST(date_trunc('month', year_end) AS DATE)
),
list8 AS (
    SELECT CAST(date_trunc('month', as_of) AS DATE) AS month, max(as_of) AS as_of
    FROM children_in_care GROUP BY CAST(date_trunc('month', as_of) AS DATE)
)
-- dental_up_to_date: DfE's cohort, in care 12 months or more on S; met if the last dental check is
-- within the 12 months up to S (event_date is that check).
SELECT 'dental_up_to_date' AS metric_id, CAST(date_trunc('month', {dental_up_to_date.counted_on}) AS DATE) AS period,
       team, child_id, CAST(care_start_date AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CAST(last_dental_check_date AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN last_dental_check_date BETWEEN s_12m AND s THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM c WHERE care_start_date <= s_12m
  AND NOT EXISTS (SELECT 1 FROM oc2 y WHERE y.month = CAST(date_trunc('month', c.s) AS DATE) AND y.as_of >= c.as_of)
UNION ALL
-- placements_3plus: every child in care on S; met (the numerator) with 3 or more placements in 12 months.
SELECT 'placements_3plus', CAST(date_trunc('month', {placements_3plus.counted_on}) AS DATE), team, child_id,
       CAST(care_start_date AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER),
       CASE WHEN placements_last_12m >= 3 THEN 'met' ELSE 'not met' END,
       CAST(NULL AS INTEGER), CAST(NULL AS TIMESTAMP)
FROM c
UNION ALL
SELECT o.* FROM ({rows_of:health_outcomes}
) AS o
WHERE o.metric_id = 'dental_up_to_date'
  AND NOT EXISTS (SELECT 1 FROM list8 m JOIN oc2 y ON y.month = m.month WHERE m.month = o.period AND m.as_of > y.as_of)
