"""BambooHR: source of people (employees, departments, divisions, job titles) for flows 1-3
(issue 6), and sink of the other side's list options into BambooHR's lists (flow 2, issue 12):
the one place the product writes to BambooHR (services/bamboohr/sinks/option_lists.py)."""
