-- Referrals, record by record: the rows referrals.sql counts for rereferrals_12m.
-- "met" is the numerator, as docs/spec/kpis.md words it: the child had an earlier
-- referral on or after the date 12 calendar months before (event_date is that
-- earlier referral); "not met" otherwise. No deadline.
WITH r AS (
    SELECT child_id, team, referral_date,
           lag(referral_date) OVER (PARTITION BY child_id ORDER BY referral_date) AS previous_referral
    FROM referrals
)
SELECT 'rereferrals_12m' AS metric_id, CAST(date_trunc('month', referral_date) AS DATE) AS period, team, child_id,
       CAST(referral_date AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CASE WHEN previous_referral >= CAST(referral_date - INTERVAL '12 months' AS DATE)
            THEN CAST(previous_referral AS VARCHAR) END AS event_date,
       CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN previous_referral >= CAST(referral_date - INTERVAL '12 months' AS DATE) THEN 'met' ELSE 'not met' END AS outcome
FROM r
