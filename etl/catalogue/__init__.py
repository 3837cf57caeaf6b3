"""What the product knows before any file arrives: the extract contract, the KPI catalogue
(metrics.yml) and DfE's published figures."""
