"""FreshBooks: sink of people (flow 1, people.employee -> team members / staff) and the
department carrier on expenses (raw.freshbooks callbacks and poll ticks); see
docs/flows/people-freshbooks.md."""
