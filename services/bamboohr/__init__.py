"""BambooHR: source of people (employees, departments, job titles) for flows 1-3 (issue 6)."""
