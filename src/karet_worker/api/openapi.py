"""The OpenAPI document, with the pipeline config schema taken from the Pydantic models.

`POST /config/validate` reads its body raw (so the validator reports every problem with a
precise path), which hides the model from FastAPI; this puts it back into `components`.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

REF_TEMPLATE = "#/components/schemas/{model}"


def json_body(model_name: str) -> dict[str, Any]:
    """`openapi_extra` for a route whose JSON body is the component `model_name`."""
    schema = {"$ref": REF_TEMPLATE.format(model=model_name)}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}


def install_openapi(app: FastAPI, body_models: list[type[BaseModel]]) -> None:
    """Replace `app.openapi` with a generator that also publishes `body_models` as components."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        document = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        schemas = document.setdefault("components", {}).setdefault("schemas", {})
        for model in body_models:
            schema = model.model_json_schema(ref_template=REF_TEMPLATE, mode="validation")
            for name, definition in schema.pop("$defs", {}).items():
                schemas.setdefault(name, definition)
            schemas[model.__name__] = schema
        app.openapi_schema = document
        return document

    app.openapi = build  # type: ignore[method-assign]
