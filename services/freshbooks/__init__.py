"""FreshBooks: sink of people and bill payments, source of bills and expenses (issues 6 and later)."""
