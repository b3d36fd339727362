"""Postmortem pre-fill: a blameless draft from the timeline, metrics and past incidents."""
