"""carepath's pure domain: workflows, cases, the statutory clock. No SQL, SMTP or wall clock."""
