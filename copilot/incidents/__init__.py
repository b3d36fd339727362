"""Incidents: declaration, severity, roles, the timeline, the lifecycle and response metrics."""
