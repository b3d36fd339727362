"""Follow-ups: postmortem action items tracked to done (issue 16)."""
