-- rereferrals_12m: referrals counted in the month received; the numerator is
-- those whose child had an earlier referral on or after the date 12 calendar
-- months before (date - INTERVAL '12 months', the same on both engines: 29 Feb 2024 -> 28 Feb 2023).
-- Judged over every referral loaded, whichever load brought it. The latest
-- earlier referral is the one to test: if any earlier one is in the window, it is.
WITH r AS (
    SELECT team, referral_date,
           lag(referral_date) OVER (PARTITION BY child_id ORDER BY referral_date) AS previous_referral
    FROM referrals
)
SELECT 'rereferrals_12m' AS metric_id, CAST(date_trunc('month', referral_date) AS DATE) AS period,
       'team' AS level, team AS org_unit,
       CAST(count(*) FILTER (
           WHERE previous_referral >= referral_date - INTERVAL '12 months'
       ) AS DOUBLE PRECISION) AS numerator,
       CAST(count(*) AS DOUBLE PRECISION) AS denominator
FROM r
GROUP BY 1, 2, 3, 4
