-- Care leavers (a snapshot), record by record: every care leaver in the list judged for
-- pathway_plans, counted in the month of the snapshot's date S (the record's as_of: the as-of date of
-- the load that brought the snapshot; metrics.yml counted_on). Met if the latest pathway plan review
-- (event_date) is on or after S - 6 months (calendar months, the same on both engines: 31 July 2023 ->
-- 31 January 2023) and on or before S. No deadline.
SELECT 'pathway_plans' AS metric_id, CAST(date_trunc('month', {pathway_plans.counted_on}) AS DATE) AS period,
       team, child_id, CAST(NULL AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CAST(latest_pathway_plan_review AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN latest_pathway_plan_review BETWEEN CAST(as_of - INTERVAL '6 month' AS DATE) AND as_of
            THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM care_leavers
