-- SSDA903 episodes of care, record by record: placements_3plus at every month end S a return speaks for
-- (docs/spec/returns.md). The months: each collection year held (year_end: 31 March of the latest return that
-- held the episode), from 1 April to the earlier of its 31 March and the return's as-of date. Cohort: children
-- looked after on S (an episode started on or before S and not ended on or before it), except those looked
-- after under a series of short breaks (the episode open on S has legal status V3 or V4). Met (the numerator):
-- 3 or more placements in the 12 months to S, a placement being an episode that starts a new one (reason for new
-- episode S, P, B, T or U) in (S - 12 months, S], a temporary placement (T0 to T4) and the return to the
-- placement held before one not counted, plus the placement held at the start of the 12 months (an episode open
-- on S - 12 months). event_date is S. S - 12 months is calendar-month arithmetic on both engines. No deadline.
-- The 31 March figure is the one DfE publishes (la_cla_placement_stability.csv, "CLA on 31 March").
-- Where List 8 (children_in_care, its own count of placements) gives a month too, the newer as-of date
-- speaks for it (docs/spec/windows.md): List 8's rows for placements_3plus are its own rule's
-- (children_in_care.sql, included whole), kept for the months no newer return speaks for, and a return's month end gives
-- way to a newer List 8 of that month.
WITH years AS (
    SELECT year_end, max(as_of) AS as_of FROM care_episodes GROUP BY year_end
),
ends AS (
    SELECT CAST(g.m + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) AS s, y.as_of AS spoken
    FROM years y
    CROSS JOIN LATERAL generate_series(CAST(y.year_end - INTERVAL '12 month' + INTERVAL '1 day' AS TIMESTAMP),
                                       CAST(least(y.year_end, y.as_of) AS TIMESTAMP), INTERVAL '1 month') AS g(m)
    WHERE CAST(g.m + INTERVAL '1 month' - INTERVAL '1 day' AS DATE) <= least(y.year_end, y.as_of)
),
list8 AS (
    SELECT CAST(date_trunc('month', as_of) AS DATE) AS month, max(as_of) AS as_of
    FROM children_in_care GROUP BY CAST(date_trunc('month', as_of) AS DATE)
),
spoken AS (
    SELECT n.s, CAST(n.s - INTERVAL '12 month' AS DATE) AS s_12m FROM ends n
    WHERE NOT EXISTS (SELECT 1 FROM list8 l WHERE l.month = CAST(date_trunc('month', n.s) AS DATE)
                      AND l.as_of > n.spoken)
),
e AS (
    SELECT child_id, decom, dec, place,
           rne IN ('S', 'P', 'B', 'T', 'U') AND place NOT IN ('T0', 'T1', 'T2', 'T3', 'T4')
           AND NOT (coalesce(lag(place) OVER (PARTITION BY child_id ORDER BY decom), '')
                        IN ('T0', 'T1', 'T2', 'T3', 'T4')
                    AND place = coalesce(lag(place, 2) OVER (PARTITION BY child_id ORDER BY decom), ''))
           AS new_placement
    FROM care_episodes
),
cla AS (
    SELECT n.s, n.s_12m, c.child_id, c.team, c.as_of, c.decom
    FROM spoken n JOIN care_episodes c ON c.decom <= n.s AND (c.dec IS NULL OR c.dec > n.s)
    WHERE c.legal_status NOT IN ('V3', 'V4')
),
counted AS (
    SELECT c.s, c.s_12m, c.child_id, c.team, c.as_of, c.decom,
           count(p.decom) + CASE WHEN EXISTS (
               SELECT 1 FROM care_episodes h WHERE h.child_id = c.child_id AND h.decom <= c.s_12m
                   AND (h.dec IS NULL OR h.dec > c.s_12m)) THEN 1 ELSE 0 END AS placements
    FROM cla c LEFT JOIN e p ON p.child_id = c.child_id AND p.new_placement AND p.decom > c.s_12m
                                AND p.decom <= c.s
    GROUP BY c.s, c.s_12m, c.child_id, c.team, c.as_of, c.decom
)
SELECT 'placements_3plus' AS metric_id, CAST(date_trunc('month', c.s) AS DATE) AS period,
       {placements_3plus.team:c:s} AS team, c.child_id, CAST(c.decom AS VARCHAR) AS start,
       CAST(NULL AS VARCHAR) AS deadline, CAST(c.s AS VARCHAR) AS event_date,
       CAST(NULL AS INTEGER) AS working_days,
       CASE WHEN c.placements >= 3 THEN 'met' ELSE 'not met' END AS outcome,
       CAST(NULL AS INTEGER) AS deadline_wd, CAST(NULL AS TIMESTAMP) AS due_at
FROM counted c
UNION ALL
SELECT l.* FROM ({rows_of:children_in_care}
) AS l
WHERE l.metric_id = 'placements_3plus'
  AND NOT EXISTS (SELECT 1 FROM ends n JOIN list8 m ON m.month = CAST(date_trunc('month', n.s) AS DATE)
                  WHERE m.month = l.period AND n.spoken >= m.as_of)
