"""Who may call the copilot, how much, and what it said to whom: keys, limits, audit, logs."""
