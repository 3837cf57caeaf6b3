-- Audit metrics: moderated audits only, final grade = moderated grade, in the
-- month of the audit; numerator = Outstanding or Good. One row per audit metric
-- of the catalogue (temp table _kpi_audit_metrics: metric_id, audit_type; a NULL
-- audit_type = every type). Grades and types compared case-insensitively.
WITH moderated AS (
    SELECT team, CAST(date_trunc('month', audit_date) AS DATE) AS period,
           lower(trim(audit_type)) AS audit_type,
           lower(trim(moderated_grade)) IN ('outstanding', 'good') AS good_or_better
    FROM case_audits
    WHERE moderated_grade IS NOT NULL AND trim(moderated_grade) <> ''
)
SELECT m.metric_id, a.period, 'team' AS level, a.team AS org_unit,
       CAST(count(*) FILTER (WHERE a.good_or_better) AS DOUBLE PRECISION) AS numerator,
       CAST(count(*) AS DOUBLE PRECISION) AS denominator
FROM moderated a
JOIN _kpi_audit_metrics m ON m.audit_type IS NULL OR lower(trim(m.audit_type)) = a.audit_type
GROUP BY 1, 2, 3, 4
