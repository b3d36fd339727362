"""Insights: history imported from postmortems, and figures across incidents (issue 16)."""
