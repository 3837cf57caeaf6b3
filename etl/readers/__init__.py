"""A file in, rows out: CSV files and workbooks."""
