"""Expensify: poll source of approved expense reports (flow 5)."""
