-- Case audits, record by record: the moderated audits case_audits.sql counts,
-- per audit metric (_kpi_audit_metrics: metric_id, audit_type; NULL = every type).
-- "met" = moderated grade Outstanding or Good; "not met" otherwise. No deadline.
SELECT m.metric_id, CAST(date_trunc('month', a.audit_date) AS DATE) AS period, a.team, a.child_id,
       CAST(a.audit_date AS VARCHAR) AS start, CAST(NULL AS VARCHAR) AS deadline,
       CAST(NULL AS VARCHAR) AS event_date, CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN lower(trim(a.moderated_grade)) IN ('outstanding', 'good') THEN 'met' ELSE 'not met' END AS outcome
FROM case_audits a
JOIN _kpi_audit_metrics m ON m.audit_type IS NULL OR lower(trim(m.audit_type)) = lower(trim(a.audit_type))
WHERE a.moderated_grade IS NOT NULL AND trim(a.moderated_grade) <> ''
