-- Referrals, record by record: every referral judged for rereferrals_12m, counted in the month
-- received (metrics.yml counted_on). "met" is the numerator, as docs/spec/kpis.md words it: the
-- child had an earlier referral on or after the date 12 calendar months before (date - INTERVAL
-- '12 months', the same on both engines: 29 Feb 2024 -> 28 Feb 2023; event_date is that earlier
-- referral); "not met" otherwise. Judged over every referral loaded, whichever load brought it: the
-- latest earlier referral is the one to test (if any earlier one is in the window, it is). No deadline.
-- {metric.team:alias}: the record's team, or for an Unallocated one (a census referral) the team its
-- child was allocated to on the counted date (child_teams; etl/rules/kpis/__init__.py).
WITH r AS (
    SELECT *, lag(referral_date) OVER (PARTITION BY child_id ORDER BY referral_date) AS previous_referral
    FROM referrals
)
SELECT 'rereferrals_12m' AS metric_id, CAST(date_trunc('month', {rereferrals_12m.counted_on}) AS DATE) AS period,
       {rereferrals_12m.team:r} AS team, child_id, CAST(referral_date AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CASE WHEN previous_referral >= CAST(referral_date - INTERVAL '12 months' AS DATE)
            THEN CAST(previous_referral AS VARCHAR) END AS event_date,
       CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN previous_referral >= CAST(referral_date - INTERVAL '12 months' AS DATE)
            THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM r
