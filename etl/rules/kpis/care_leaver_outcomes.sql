-- SSDA903 OC3, record by record: care_leavers_accommodation, counted in March of each collection year
-- (year_end). Cohort: the young people whose 19th, 20th or 21st birthday fell in the year (age: the age reached
-- at that birthday) with accommodation recorded (ACCOM given, 0 "no information" included, as DfE's
-- "Suitability total" includes it). Met if ACCOM's second character is 1 (considered suitable); 2 is not
-- suitable. DfE publishes it in la_care_leavers_accommodation_suitability.csv (19 to 21 years). No deadline.
SELECT 'care_leavers_accommodation' AS metric_id, CAST(date_trunc('month', o.year_end) AS DATE) AS period,
       {care_leavers_accommodation.team:o:year_end} AS team, o.child_id, CAST(o.year_end AS VARCHAR) AS start,
       CAST(NULL AS VARCHAR) AS deadline, CAST(NULL AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN substr(o.accom, 2, 1) = '1' THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM care_leaver_outcomes o
WHERE o.age_at_birthday BETWEEN 19 AND 21 AND o.accom IS NOT NULL
