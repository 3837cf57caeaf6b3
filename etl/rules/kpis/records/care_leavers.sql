-- Care leavers (a snapshot), record by record: every care leaver care_leavers.sql counts for
-- pathway_plans, in the month of the snapshot's date S (the record's as_of); met if the latest
-- pathway plan review (event_date) is on or after S - 6 months and on or before S. No deadline.
SELECT 'pathway_plans' AS metric_id, CAST(date_trunc('month', as_of) AS DATE) AS period, team, child_id,
       CAST(NULL AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CAST(latest_pathway_plan_review AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN latest_pathway_plan_review BETWEEN CAST(as_of - INTERVAL '6 month' AS DATE) AND as_of
            THEN 'met' ELSE 'not met' END AS outcome
FROM care_leavers
