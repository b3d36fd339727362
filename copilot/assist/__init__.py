"""Ask the copilot: grounded next steps, similar incidents, verified before anyone sees them."""
