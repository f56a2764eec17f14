"""Acumatica: sink of departments then employees (flow 3)."""
