"""The `cpip` command: sits above etl/ and dashboard/, so it may use both."""
