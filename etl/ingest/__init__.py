"""Checking and loading files: validation, findings for people, the load with its log and undo, the inbox."""
