-- icpc_15wd: initial child protection conferences, counted in the month of the conference; met if it is
-- within 15 working days of the strategy discussion that started the section 47 enquiry (the discussion
-- is day 0; working days after it up to and including the conference = wd(ICPC) - wd(strategy)).
-- Enquiries with no conference (not required, or not yet held) are not counted, so no as-of date is needed.
SELECT 'icpc_15wd' AS metric_id, CAST(date_trunc('month', s.icpc_date) AS DATE) AS period, 'team' AS level,
       s.team AS org_unit,
       CAST(count(*) FILTER (WHERE ci.working_day_number - cs.working_day_number <= 15) AS DOUBLE PRECISION) AS numerator,
       CAST(count(*) AS DOUBLE PRECISION) AS denominator
FROM s47_enquiries s
JOIN calendar cs ON cs.day = s.strategy_discussion_date
JOIN calendar ci ON ci.day = s.icpc_date
GROUP BY 1, 2, 3, 4
