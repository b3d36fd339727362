"""The deployment files (deploy/): valid by schema, and wired to the copilot that exists.

No container engine runs here, so the compose file is checked against the compose-spec JSON
schema (vendored in check-jsonschema, Apache-2.0) and every Kubernetes manifest against the
Kubernetes schemas kubernetes-validate carries, both offline; the rest checks what a schema cannot
see: probes on real routes, real settings, real CLI commands, matching names and ports.
tests/deploy/test_topology.py runs the same topology as processes.
"""

from __future__ import annotations

import json
import re
import shlex
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import kubernetes_validate
import pytest
import yaml
from fastapi.testclient import TestClient

from copilot.api.app import create_app
from copilot.cli import build_parser
from copilot.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
COMPOSE = DEPLOY / "docker-compose.yml"
NGINX = DEPLOY / "nginx.conf"
K8S = DEPLOY / "k8s"
# The oldest Kubernetes the manifests are meant for; kubernetes-validate picks its schema.
K8S_VERSION = "1.30"
# Variables the files may set that are not copilot settings: read by libraries in the image.
LIBRARY_ENV = {"HF_HUB_OFFLINE", "ANONYMIZED_TELEMETRY"}


def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def k8s_docs() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if doc is not None:
                docs.append((path.name, doc))
    return docs


def k8s_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for _, doc in k8s_docs() if doc["kind"] == kind]


def compose_schema() -> dict[str, Any]:
    ref = resources.files("check_jsonschema.builtin_schemas.vendor").joinpath("compose-spec.json")
    schema = json.loads(ref.read_text(encoding="utf-8"))
    assert isinstance(schema, dict)
    return schema


def compose_errors(data: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema, format_checker=validator_cls.FORMAT_CHECKER)
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]


def serve_services(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The compose services that run `copilot serve` (the replicas)."""
    return {
        name: svc
        for name, svc in data["services"].items()
        if list(svc.get("command", []))[:2] == ["copilot", "serve"]
    }


def option(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def dockerfile_cmd() -> list[str]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    match = re.search(r"^CMD (\[.*\])$", text, re.M)
    assert match, "the Dockerfile has no exec-form CMD"
    cmd = json.loads(match.group(1))
    assert isinstance(cmd, list)
    return cmd


def dockerfile_expose() -> set[int]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8")
    return {int(p) for line in re.findall(r"^EXPOSE (.+)$", text, re.M) for p in line.split()}


def expand(value: str) -> str:
    """Compose's `${VAR:-default}` with the default, as with nothing set in the shell."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


# -- schemas -------------------------------------------------------------------------------


def test_compose_file_is_valid_compose_spec() -> None:
    assert compose_errors(compose()) == []


def test_compose_schema_rejects_a_broken_file() -> None:
    broken = json.loads(json.dumps(compose()))  # a deep copy: the replicas share one anchor
    broken["services"]["copilot-1"]["depends_on"]["init"]["condition"] = "finished"
    broken["services"]["proxy"]["ports"] = [{"target": 80, "protocl": "tcp"}]
    errors = compose_errors(broken)
    assert any("depends_on" in e for e in errors), errors
    assert any("ports" in e for e in errors), errors


@pytest.mark.parametrize(
    ("name", "doc"), k8s_docs(), ids=[f"{n}:{d['kind']}" for n, d in k8s_docs()]
)
def test_kubernetes_manifest_is_valid(name: str, doc: dict[str, Any]) -> None:
    # strict: a misspelt or misplaced field is an error, not silently ignored by the schema.
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kubernetes_schema_rejects_a_broken_manifest() -> None:
    (deployment,) = k8s_kind("Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, K8S_VERSION, strict=True)
    misplaced = json.loads(json.dumps(deployment))
    container = misplaced["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["url"] = "/readyz"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(misplaced, K8S_VERSION, strict=True)


def test_every_kubernetes_kind_the_issue_asks_for_is_there() -> None:
    kinds = {doc["kind"] for _, doc in k8s_docs()}
    assert {"Deployment", "Service", "Secret", "Job"} <= kinds


# -- compose: the topology ------------------------------------------------------------------


def test_compose_runs_two_replicas_on_the_shared_engines() -> None:
    data = compose()
    replicas = serve_services(data)
    assert len(replicas) == 2, sorted(replicas)
    envs = [svc["environment"] for svc in replicas.values()]
    for key in ("COPILOT_DATABASE_URL", "COPILOT_CHROMA_URL"):
        values = {env[key] for env in envs}
        assert len(values) == 1, f"replicas disagree on {key}: {values}"
    env = envs[0]
    db = urlsplit(expand(env["COPILOT_DATABASE_URL"]))
    assert db.scheme == "postgresql+psycopg"
    assert db.hostname in data["services"], db.hostname
    assert "postgres" in data["services"][db.hostname]["image"]
    assert db.path.lstrip("/") == data["services"][db.hostname]["environment"]["POSTGRES_DB"]
    assert db.username == data["services"][db.hostname]["environment"]["POSTGRES_USER"]
    chroma = urlsplit(env["COPILOT_CHROMA_URL"])
    chroma_svc = data["services"][chroma.hostname]
    assert chroma_svc["command"][:2] == ["chroma", "run"]
    assert int(option(chroma_svc["command"], "--port")) == chroma.port


def test_compose_replicas_start_after_the_one_shot_init_succeeded() -> None:
    data = compose()
    init = data["services"]["init"]
    assert init.get("restart") == "no"
    assert init["environment"] == next(iter(serve_services(data).values()))["environment"]
    for name, svc in serve_services(data).items():
        assert svc["depends_on"]["init"] == {"condition": "service_completed_successfully"}, name
        for engine in ("postgres", "chroma"):
            assert svc["depends_on"][engine]["condition"] == "service_healthy", name
    # The replicas' healthcheck is readiness (model, database, Chroma server), which the proxy
    # waits for.
    for name, svc in serve_services(data).items():
        assert "/readyz" in " ".join(svc["healthcheck"]["test"]), name
        assert data["services"]["proxy"]["depends_on"][name] == {"condition": "service_healthy"}


def init_commands(script: str) -> list[list[str]]:
    commands = []
    for line in script.splitlines():
        words = shlex.split(line.strip())
        # `if ! copilot keys list ... | grep ...; then` holds a command too.
        while words and words[0] in ("if", "!"):
            words = words[1:]
        if words and words[0] == "copilot":
            commands.append(words[: words.index("|")] if "|" in words else words)
    return commands


def test_init_runs_real_cli_commands_and_the_same_in_compose_and_kubernetes() -> None:
    compose_script = compose()["services"]["init"]["command"]
    (job,) = k8s_kind("Job")
    job_script = job["spec"]["template"]["spec"]["containers"][0]["command"]
    assert compose_script == job_script
    assert compose_script[:2] == ["sh", "-ec"]
    commands = init_commands(compose_script[2])
    assert [c[1] for c in commands] == ["ingest", "catalog", "import", "keys", "keys"]
    parser = build_parser()
    for argv in commands:
        # argparse exits on an unknown command or option: the script only uses real ones.
        args = parser.parse_args(argv[1:])
        assert callable(args.handler), argv
    # Every path it reads is one the image has (the Dockerfile copies runbooks to /app/runbooks).
    for argv in commands:
        for word in argv:
            if word.startswith("/app/"):
                assert (REPO / word.removeprefix("/app/")).is_dir(), word


def test_proxy_upstreams_are_the_replicas() -> None:
    data = compose()
    proxy = data["services"]["proxy"]
    mounts = [v.split(":") for v in proxy["volumes"]]
    assert ["./nginx.conf", "/etc/nginx/nginx.conf", "ro"] in mounts
    assert (COMPOSE.parent / "nginx.conf").is_file()
    conf = NGINX.read_text(encoding="utf-8")
    upstream = re.search(r"upstream (\w+) \{(.*?)\}", conf, re.S)
    assert upstream is not None
    servers = re.findall(r"^\s*server ([\w.-]+):(\d+)", upstream.group(2), re.M)
    expected = {
        (name, option(svc["command"], "--port")) for name, svc in serve_services(data).items()
    }
    assert set(servers) == expected
    assert f"proxy_pass http://{upstream.group(1)};" in conf
    # The proxy is the only thing published on the host.
    published = [name for name, svc in data["services"].items() if "ports" in svc]
    assert published == ["proxy"]


def test_compose_builds_the_repository_dockerfile() -> None:
    for name, svc in compose()["services"].items():
        if "build" not in svc:
            continue
        context = (COMPOSE.parent / svc["build"]["context"]).resolve()
        assert context == REPO, name
        assert (context / svc["build"]["dockerfile"]).is_file(), name


# -- the copilot the files run --------------------------------------------------------------


def test_replicas_run_the_dockerfile_command_on_its_exposed_port() -> None:
    cmd = dockerfile_cmd()
    assert cmd[:2] == ["copilot", "serve"]
    port = int(option(cmd, "--port"))
    assert port in dockerfile_expose()
    for name, svc in serve_services(compose()).items():
        assert svc["command"] == cmd, name
        assert svc["expose"] == [str(port)], name
    (deployment,) = k8s_kind("Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["command"] == cmd
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": port}
    (service,) = [s for s in k8s_kind("Service") if s["metadata"]["name"] == "copilot"]
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]
    # The Service selects the Deployment's pods, not the init Job's.
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    (job,) = k8s_kind("Job")
    assert (
        not service["spec"]["selector"].items()
        <= job["spec"]["template"]["metadata"]["labels"].items()
    )


def probe_status(tmp_path: Path, path: str) -> int:
    """What the app answers on PATH (no lifespan: nothing loaded, so /readyz says 503)."""
    settings = Settings(data_dir=tmp_path / "data", _env_file=None)  # type: ignore[call-arg]
    return TestClient(create_app(settings, load_knowledge=False)).get(path).status_code


def test_deployment_has_two_replicas_and_probes_on_real_routes(tmp_path: Path) -> None:
    (deployment,) = k8s_kind("Deployment")
    assert deployment["spec"]["replicas"] == 2
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        get = container[probe]["httpGet"]
        assert get["port"] == "http"
    # Both routes exist: alive answers 200 at once, ready refuses until the model is loaded.
    assert probe_status(tmp_path, "/healthz") == 200
    assert probe_status(tmp_path, "/readyz") == 503
    assert probe_status(tmp_path, "/nonexistent-probe") == 404
    requests = container["resources"]["requests"]
    assert requests["memory"] == "1Gi" and requests["cpu"]
    assert container["resources"]["limits"]["memory"]


def test_secret_values_are_marked_placeholders() -> None:
    (secret,) = k8s_kind("Secret")
    assert secret["stringData"]
    for key, value in secret["stringData"].items():
        assert "CHANGE-ME" in value, key
    assert "PLACEHOLDER" in (K8S / "secret.yaml").read_text(encoding="utf-8")


def kubernetes_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for kind, field in (("ConfigMap", "data"), ("Secret", "stringData")):
        for doc in k8s_kind(kind):
            env.update(doc[field])
    for kind in ("Deployment", "Job"):
        for doc in k8s_kind(kind):
            for container in doc["spec"]["template"]["spec"]["containers"]:
                for item in container.get("env", []):
                    env[item["name"]] = item["value"]
                refs = {
                    r.get("configMapRef", r.get("secretRef", {}))["name"]
                    for r in container["envFrom"]
                }
                names = {d["metadata"]["name"] for d in k8s_kind("ConfigMap") + k8s_kind("Secret")}
                assert refs <= names, refs - names
    return env


def compose_copilot_env() -> dict[str, str]:
    data = compose()
    env: dict[str, str] = {}
    for name in [*serve_services(data), "init"]:
        env.update({k: expand(str(v)) for k, v in data["services"][name]["environment"].items()})
    return env


@pytest.mark.parametrize("source", ["compose", "kubernetes"])
def test_every_variable_set_is_a_real_setting_and_parses(
    source: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    env = compose_copilot_env() if source == "compose" else kubernetes_env()
    fields = set(Settings.model_fields)
    for key in env:
        if key in LIBRARY_ENV:
            continue
        assert key.startswith("COPILOT_"), key
        assert key.removeprefix("COPILOT_").lower() in fields, f"{key} is no copilot setting"
    for key in ("COPILOT_DATABASE_URL", "COPILOT_CHROMA_URL", "COPILOT_DATA_DIR"):
        assert key in env, key
    monkeypatch.chdir(tmp_path)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.sqlalchemy_url.startswith("postgresql+psycopg://")
    assert settings.chroma_url
    assert settings.allowed_ingest_roots == [Path("/app/runbooks")]
