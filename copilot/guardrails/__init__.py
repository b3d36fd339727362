"""Plain, tested guardrails: redaction, injection isolation, risk flags, output verification."""
