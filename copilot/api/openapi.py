"""The published OpenAPI document, made to say what the API really answers.

FastAPI documents only 200 and its own 422 shape. Our handlers answer errors as
`{"detail": "message"}` and validation errors as `{"detail": [{"field", "message"}]}` (no
submitted values: they may hold secrets), and the middleware adds 401/403/413/429. Clients
generated from this document, and the schemathesis run in the tests, rely on it being true.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

ERROR_REF = {"$ref": "#/components/schemas/Error"}
VALIDATION_REF = {"$ref": "#/components/schemas/HTTPValidationError"}
# Every /v1 operation may answer these; the middleware or the handlers write them.
V1_ERRORS = {
    "400": "The request cannot be done as asked",
    "401": "No valid API key",
    "403": "The key lacks the scope this operation needs",
    "404": "Not found",
    "409": "Conflicts with the current state (an illegal transition, a duplicate publish)",
    "413": "Request body over the configured limit",
    "429": "Rate limit exceeded; see Retry-After",
    "503": "A store the operation needs is unavailable",
}
SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["detail"],
        "properties": {"detail": {"type": "string"}},
    },
    "ValidationError": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
    "HTTPValidationError": {
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {
                "anyOf": [
                    {"type": "string"},
                    {"type": "array", "items": {"$ref": "#/components/schemas/ValidationError"}},
                ]
            }
        },
    },
}


def _json(description: str, schema: dict[str, str]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def document(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
    )
    schema.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    for path, operations in schema.get("paths", {}).items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if "422" in responses:
                responses["422"] = _json("Invalid input", VALIDATION_REF)
            if path.startswith("/v1/"):
                responses.setdefault("422", _json("Invalid input", VALIDATION_REF))
                for code, description in V1_ERRORS.items():
                    responses.setdefault(code, _json(description, ERROR_REF))
    return schema


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
