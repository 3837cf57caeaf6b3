-- kpi_values: KPIs counted upstream, as given. A row names a team, a service,
-- an area or the authority (parameter $authority); it is placed at that level
-- (a team name wins if a name is used twice). Team rows are rolled up like any
-- other; a row given directly for a service, area or the authority overrides
-- the roll-up for that unit (done by the caller from the level column).
WITH named AS (
    SELECT v.period, v.metric_id, v.team AS org_unit, v.numerator, v.denominator,
           CASE
               WHEN v.team IN (SELECT team FROM organisation) THEN 'team'
               WHEN v.team IN (SELECT service FROM organisation) THEN 'service'
               WHEN v.team IN (SELECT area FROM organisation) THEN 'area'
               WHEN v.team = $authority THEN 'la'
           END AS level
    FROM kpi_values v
)
SELECT metric_id, CAST(date_trunc('month', period) AS DATE) AS period, level, org_unit,
       CAST(numerator AS DOUBLE PRECISION) AS numerator, CAST(denominator AS DOUBLE PRECISION) AS denominator
FROM named
WHERE level IS NOT NULL
