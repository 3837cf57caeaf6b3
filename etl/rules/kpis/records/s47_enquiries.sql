-- Section 47 enquiries, record by record: the conferences s47_enquiries.sql counts for icpc_15wd,
-- in the month of the conference. The strategy discussion is day 0; the deadline is the 15th
-- working day after it; met if the conference is on or before it, late otherwise. An enquiry with
-- no conference (not required, or not held yet) is in no figure, so it is not listed here (what
-- falls due lists the open ones).
WITH s AS (
    SELECT s.child_id, s.team, s.strategy_discussion_date AS started, s.icpc_date AS held,
           cs.working_day_number AS wd_start, ci.working_day_number AS wd_held
    FROM s47_enquiries s
    JOIN calendar cs ON cs.day = s.strategy_discussion_date
    JOIN calendar ci ON ci.day = s.icpc_date
),
deadlines AS (
    SELECT working_day_number, min(day) AS day FROM calendar WHERE is_working_day GROUP BY working_day_number
)
SELECT 'icpc_15wd' AS metric_id, CAST(date_trunc('month', s.held) AS DATE) AS period, s.team, s.child_id,
       CAST(s.started AS VARCHAR) AS start, CAST(d.day AS VARCHAR) AS deadline,
       CAST(s.held AS VARCHAR) AS event_date, s.wd_held - s.wd_start AS working_days,
       CASE WHEN s.wd_held - s.wd_start <= 15 THEN 'met' ELSE 'late' END AS outcome
FROM s LEFT JOIN deadlines d ON d.working_day_number = s.wd_start + 15
