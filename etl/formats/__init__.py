"""National formats declared as data (Annex A; next the CIN census and the SSDA903): which
headings feed which extract type."""
