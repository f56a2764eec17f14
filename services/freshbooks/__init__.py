"""FreshBooks: sink of people and bill payments, source of bills and expenses (issue 6, flow 4)."""
