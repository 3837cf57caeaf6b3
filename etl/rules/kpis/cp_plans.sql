-- Child protection plans, record by record: repeat_cp_plans, counted in the month the plan started
-- (metrics.yml counted_on). "met" (the numerator) is a second or subsequent plan: the child had 1 or
-- more plans before it (the census's NumberOfPreviousCPP, Annex A List 7's "Number of Previous Child
-- Protection Plans"), as DfE's table D3 counts them; "not met" a first plan. A plan whose number of
-- previous plans is not given cannot be judged: it is in no row. No deadline. {metric.team:alias}: the
-- plan's team, or for an Unallocated one (a census plan) its child's allocation on the start date.
SELECT 'repeat_cp_plans' AS metric_id, CAST(date_trunc('month', {repeat_cp_plans.counted_on}) AS DATE) AS period,
       {repeat_cp_plans.team:p} AS team, p.child_id, CAST(p.cpp_start_date AS VARCHAR) AS start,
       CAST(NULL AS VARCHAR) AS deadline, CAST(NULL AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN p.previous_plans >= 1 THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM cp_plans p
WHERE p.previous_plans IS NOT NULL
