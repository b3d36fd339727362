"""Status updates: per-audience drafts from the incident record, checked, published, exported."""
