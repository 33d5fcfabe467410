"""History -> lifecycles, windows and findings; the report formats."""
