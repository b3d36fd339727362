"""Responder Copilot: grounded help for people running a production incident."""

import os

# Nothing may reach a model hub or a telemetry endpoint: this must hold before any library that
# reads these variables (huggingface_hub, transformers, chromadb) is first imported.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

__version__ = "0.1.0"
