-- Case audits, record by record: the moderated audits, per audit metric of the catalogue
-- (audit_metrics: metric_id, audit_type, substituted when the SQL is loaded; a NULL audit_type =
-- every type), counted in the month of the audit (metrics.yml counted_on, one date for every audit
-- metric). The final grade is the moderated grade; "met" = Outstanding or Good, "not met" otherwise;
-- an audit not yet moderated is in no figure. Grades and types compared case-insensitively. No deadline.
WITH audit_metrics(metric_id, audit_type) AS (VALUES {audit_metrics})
SELECT m.metric_id, CAST(date_trunc('month', {case_audits.counted_on}) AS DATE) AS period, a.team, a.child_id,
       CAST(a.audit_date AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CAST(NULL AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN lower(trim(a.moderated_grade)) IN ('outstanding', 'good') THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM case_audits a
JOIN audit_metrics m ON m.audit_type IS NULL OR lower(trim(m.audit_type)) = lower(trim(a.audit_type))
WHERE a.moderated_grade IS NOT NULL AND trim(a.moderated_grade) <> ''
