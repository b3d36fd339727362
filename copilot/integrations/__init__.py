"""Chat and event integrations: Slack slash commands in, signed webhooks out."""
