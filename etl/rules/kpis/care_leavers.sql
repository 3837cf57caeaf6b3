-- pathway_plans (a snapshot): every care leaver in the list, counted in the month of the snapshot's
-- date S (the record's as_of: the as-of date of the load that brought the snapshot); met if the latest
-- pathway plan review is on or after S - 6 months (calendar months, the same on both engines: 31 July 2023 -> 31 January
-- 2023) and on or before S.
SELECT 'pathway_plans' AS metric_id, CAST(date_trunc('month', as_of) AS DATE) AS period, 'team' AS level,
       team AS org_unit,
       CAST(count(*) FILTER (
           WHERE latest_pathway_plan_review BETWEEN CAST(as_of - INTERVAL '6 month' AS DATE) AND as_of
       ) AS DOUBLE PRECISION) AS numerator,
       CAST(count(*) AS DOUBLE PRECISION) AS denominator
FROM care_leavers
GROUP BY 1, 2, 3, 4
