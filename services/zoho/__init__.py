"""Zoho Books: sink of people as contacts, reconciliation of option lists (flow 2)."""
