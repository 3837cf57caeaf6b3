"""The rules: working days, the KPI SQL that builds the mart, statistical process control."""
