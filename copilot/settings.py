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

    # Chunking.
    chunk_max_words: int = Field(160, ge=20, le=2000)
    chunk_overlap_words: int = Field(30, ge=0, le=500)

    # Retrieval.
    top_k: int = Field(5, ge=1, le=50)
    candidates: int = Field(40, ge=5, le=500)
    # Fusion: a document's score is a weighted mean of its best dense and best keyword section,
    # each rescaled over the query's candidates. Tuned on evals/datasets (see evals/README.md).
    dense_weight: float = Field(0.4, ge=0.0)
    keyword_weight: float = Field(0.6, ge=0.0)

    # Incident store: SQLite in data_dir unless a SQLAlchemy URL is given.
    database_url: str | None = None
    # Severity taxonomy: the packaged copilot/incidents/severity.yaml unless a team's file is given.
    severity_file: Path | None = None

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
    api_keys: dict[str, SecretStr] = {}

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
        return self.data_dir / "catalog.sqlite"

    @property
    def lock_path(self) -> Path:
        return self.data_dir / "store.lock"

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'incidents.sqlite'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
