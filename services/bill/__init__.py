"""BILL: sink of vendors and bills, source of bill payments (flow 4)."""
