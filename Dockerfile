# Responder Copilot: CPU-only image, no LLM needed, bundled runbooks ingested at build time.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 \
    HF_HUB_OFFLINE=1 ANONYMIZED_TELEMETRY=False \
    COPILOT_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY copilot ./copilot
COPY ingest ./ingest
COPY runbooks ./runbooks

# The CPU wheel of torch first, from PyTorch's CPU index, so nothing pulls a CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu "torch==2.13.0" \
 && pip install -c requirements.lock . \
 && useradd --system --uid 10001 --home-dir /data copilot \
 && mkdir -p /data && chown copilot /data

USER copilot
RUN copilot ingest /app/runbooks

EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"

# Binding beyond loopback is what a container needs; put API keys in place before exposing it.
CMD ["copilot", "serve", "--host", "0.0.0.0", "--port", "8000"]
