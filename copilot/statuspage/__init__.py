"""The public status page the copilot keeps: components, published updates, history, feeds."""
