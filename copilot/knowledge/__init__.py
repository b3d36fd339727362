"""The knowledge base: indexed runbook and postmortem sections, and hybrid search over them."""
