"""One settings object for the whole service, read from `COPILOT_*` variables and `.env`."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGED_MODEL = "all-MiniLM-L6-v2"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COPILOT_", env_file=".env", extra="ignore")

    data_dir: Path = Path(".copilot")

    # Embedding model: the packaged all-MiniLM-L6-v2 by default, or a local sentence-transformers
    # folder. Never a hub id: nothing is downloaded at run time.
    embedding_model: str = PACKAGED_MODEL
    embed_batch_size: int = Field(64, ge=1, le=1024)
    # Threads for torch while serving. One thread keeps query latency stable when the CPU is busy
    # (default threading measured 12 ms -> 490 ms p50 under contention); ingest uses all cores.
    serve_threads: int = Field(1, ge=1, le=64)

    # Vector store: embedded Chroma under data_dir by default; a Chroma server to scale out.
    chroma_url: str | None = None
    collection: str = "knowledge"
    # Up to this many live chunks, an embedded store also keeps their vectors in memory and
    # searches them exactly with numpy (1.5 KB a chunk; faster than Chroma's index at this size,
    # and exact). Above it, or with a Chroma server, Chroma's index answers. 0 turns it off.
    exact_search_max_chunks: int = Field(50_000, ge=0)
    # How often (seconds) a process reads the knowledge-base version from the database, to drop
    # what it keeps in memory when another replica ingested. 0 reads it before every search.
    kb_refresh_s: float = Field(2.0, ge=0.0, le=3600.0)

    # Chunking.
    chunk_max_words: int = Field(160, ge=20, le=2000)
    chunk_overlap_words: int = Field(30, ge=0, le=500)

    # Retrieval.
    top_k: int = Field(5, ge=1, le=50)
    # Sections each signal (dense, keyword) brings to fusion. Each is rescaled over its own
    # candidates, so a pool this deep also sets the floor a score is measured from; 40 left it at
    # whatever the 40th section scored (evals/README.md, "A deeper pool").
    candidates: int = Field(100, ge=5, le=500)
    # Fusion: a document's score is a weighted mean of its best dense and best keyword section,
    # each rescaled over the query's candidates. Tuned on evals/datasets (see evals/README.md);
    # equal since titles are embedded with CamelCase alert names split into words.
    dense_weight: float = Field(0.5, ge=0.0)
    keyword_weight: float = Field(0.5, ge=0.0)
    # Added to a document of the kind the query asks for, times the share of the query's words
    # the document mentions anywhere: separates near-twin runbooks (see evals/README.md).
    coverage_weight: float = Field(0.4, ge=0.0)

    # The one relational database (incidents, timeline, status drafts, API keys, audit log,
    # webhook outbox; see copilot/db): the SQLite file data_dir/incidents.sqlite unless a
    # SQLAlchemy URL is given, e.g. postgresql+psycopg://user:pass@host:5432/copilot, shared by
    # replicas. The file keeps the name it had when it held incidents only, so existing
    # installs upgrade in place.
    database_url: str | None = None
    # Severity taxonomy: the packaged copilot/incidents/severity.yaml unless a team's file is given.
    severity_file: Path | None = None
    # Postmortem template: the packaged copilot/postmortem/template.md, or a team's own file.
    postmortem_template: Path | None = None
    # Public status page components (two-level groups): the packaged sample
    # copilot/statuspage/components.yaml unless a team's file is given.
    status_components: Path | None = None

    # Composer: "extractive" (embedded, no model) or a LangChain chat model spec.
    llm: str = "extractive"
    llm_base_url: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout_s: float = Field(30.0, gt=0, le=600)
    llm_max_tokens: int = Field(800, ge=16, le=32000)
    llm_max_retries: int = Field(1, ge=0, le=10)
    llm_temperature: float = Field(0.0, ge=0.0, le=2.0)
    # Ask: below this cosine similarity of the best passage, the copilot abstains.
    abstain_below: float = Field(0.30, ge=0.0, le=1.0)
    max_steps: int = Field(10, ge=1, le=30)

    # Security. API keys live hashed in the database (`copilot keys create`).
    # Request bodies larger than this are refused with 413, counted on the bytes received.
    max_body_bytes: int = Field(1024 * 1024, ge=1024, le=1024**3)
    # Token bucket per API key (per client address when no keys exist): the sustained rate in
    # requests a second and the burst allowed on top. A rate of 0 turns the limit off.
    rate_limit_per_s: float = Field(20.0, ge=0.0, le=100_000.0)
    rate_limit_burst: int = Field(100, ge=1, le=1_000_000)
    # Folders `POST /v1/admin/ingest` may read; default: the `runbooks` folder beside data_dir.
    ingest_roots: list[Path] = []

    # Integrations. The war-room page's public address (https://copilot.example.com), for links
    # in Slack answers and webhook payloads; without it they carry no links.
    public_url: str | None = Field(None, max_length=500)
    # Slack slash commands (POST /v1/integrations/slack/commands) are verified with this secret.
    slack_signing_secret: SecretStr | None = None
    # Outbound webhooks on incident events: a JSON list of URLs, each POST signed with the
    # secret (HMAC-SHA256); events limits them to some names (empty: all). See
    # copilot/integrations/webhooks.py for the payload, headers and retries.
    webhook_urls: list[str] = []
    webhook_secret: SecretStr | None = None
    webhook_events: list[str] = []
    webhook_timeout_s: float = Field(5.0, gt=0, le=60)
    webhook_max_attempts: int = Field(6, ge=1, le=20)
    webhook_backoff_s: float = Field(1.0, ge=0, le=300)

    # Alerts in (copilot/alerts): correlation rules, the packaged copilot/alerts/rules.yaml unless
    # a team's file is given; Grafana's webhook HMAC secret (unset: signatures are not checked).
    alert_rules: Path | None = None
    grafana_webhook_secret: SecretStr | None = None
    # A Slack incoming-webhook URL: each new alert candidate is posted there, in the background
    # through the webhook outbox (copilot/integrations/slack_alerts.py). Unset: nothing posted.
    slack_alerts_webhook_url: SecretStr | None = None

    @field_validator("embedding_model")
    @classmethod
    def _no_blank_model(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("embedding_model must name the packaged model or a local folder")
        return value.strip()

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def catalog_path(self) -> Path:
        """Where older copilots kept the knowledge catalog (imported once: copilot.knowledge)."""
        return self.data_dir / "catalog.sqlite"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "store.lock"

    @property
    def security_path(self) -> Path:
        """Where older copilots kept keys and the audit log (imported once, see copilot.db).

        `KeyStore(settings.security_path)` still works: it means the database of this data dir.
        """
        return self.data_dir / "security.sqlite"

    @property
    def allowed_ingest_roots(self) -> list[Path]:
        roots = self.ingest_roots or [self.data_dir.resolve().parent / "runbooks"]
        return [root.resolve() for root in roots]

    @property
    def sqlalchemy_url(self) -> str:
        """The database URL: `database_url`, else the SQLite file in the data dir."""
        return self.database_url or f"sqlite:///{self.data_dir / 'incidents.sqlite'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
