"""`swagger.json` per endpoint version, generated from our own entity definitions.

The document takes the SHAPE of Acumatica's own exports (never their content): 24.200.001
is OpenAPI 3.0.1 with `components/{schemas,responses,parameters}` and `servers`; 22.200.001
and 23.200.001 are Swagger 2.0 with `definitions`, `host`/`basePath` and inline parameters.
Operation ids (`Employee_GetList`), tags (the entity, described by its screen), the
`Entity` base schema, the `{value, error}` wrappers and `HttpError` follow the exports, so a
client that builds itself from an instance's swagger.json builds itself from ours. Only the
operations the sandbox serves are listed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from sandboxes.acumatica.entities import VALUE_SCHEMAS, EntityDef, ValueType

__all__ = ["swagger_document"]

JSON_TYPES: dict[ValueType, dict[str, str]] = {
    "string": {"type": "string"},
    "datetime": {"type": "string", "format": "date-time"},
    "boolean": {"type": "boolean"},
    "int": {"type": "integer", "format": "int32"},
    "decimal": {"type": "number", "format": "double"},
    "guid": {"type": "string", "format": "uuid"},
}
QUERY = {
    "select": ("$select", "The fields of the entity to be returned from the system."),
    "filter": ("$filter", "The conditions that determine which records should be selected "
               "from the system."),
    "expand": ("$expand", "The linked and detail entities that should be expanded."),
    "custom": ("$custom", "The fields that are not defined in the contract of the endpoint "
               "to be returned from the system."),
    "skip": ("$skip", "The number of records to be skipped from the list of returned records."),
    "top": ("$top", "The number of records to be returned from the system."),
}  # fmt: skip


class _Writer:
    """Renders one document in either dialect (`openapi3` True: 3.0.1, else Swagger 2.0)."""

    def __init__(self, openapi3: bool) -> None:
        self.openapi3 = openapi3

    def ref(self, name: str) -> dict[str, str]:
        where = "components/schemas" if self.openapi3 else "definitions"
        return {"$ref": f"#/{where}/{name}"}

    def param(self, key: str) -> dict[str, Any]:
        if self.openapi3:
            return {"$ref": f"#/components/parameters/{key}"}
        return self.param_definition(key)

    def param_definition(self, key: str) -> dict[str, Any]:
        if key in QUERY:
            name, description = QUERY[key]
            kind: dict[str, Any] = {"type": "string"}
            if key in ("skip", "top"):
                kind = {"type": "integer", "format": "int32"}
            if self.openapi3:
                return {"name": name, "in": "query", "description": description, "schema": kind}
            return {"in": "query", "name": name, "description": description, **kind}
        if key == "ids":
            description = "The values of the key fields of the record."
            if self.openapi3:
                text = description + " The values are slash-delimited."
                schema = {"type": "string"}
                return {"name": "ids", "in": "path", "description": text, "required": True,
                        "schema": schema}  # fmt: skip
            pipes = {"type": "array", "items": {"type": "string"}, "collectionFormat": "pipes"}
            return {"in": "path", "name": "ids", "description": description, "required": True,
                    **pipes}  # fmt: skip
        description = "The session ID of the record."
        if self.openapi3:
            return {"name": "id", "in": "path", "description": description, "required": True,
                    "schema": {"type": "string", "format": "uuid"}}  # fmt: skip
        return {"in": "path", "name": "id", "description": description, "required": True,
                "type": "string", "format": "uuid"}  # fmt: skip

    def content(self, description: str, schema: dict[str, Any] | None) -> dict[str, Any]:
        if schema is None:
            return {"description": description}
        if self.openapi3:
            media = {"schema": schema}
            return {"description": description,
                    "content": {"application/json": media, "text/json": media}}  # fmt: skip
        return {"description": description, "schema": schema}

    def errors(self) -> dict[str, Any]:
        if self.openapi3:
            return {
                "401": {"$ref": "#/components/responses/ContractBasedControllerBase_401"},
                "500": {"$ref": "#/components/responses/ContractBasedControllerBase_500"},
            }
        return {
            "401": self.content("The user is not logged in to the system.", self.ref("HttpError")),
            "500": self.content("Internal server error.", self.ref("HttpError")),
        }

    def operation(
        self,
        entity: str,
        name: str,
        *,
        summary: str,
        params: list[str],
        responses: dict[str, Any],
        body: tuple[str, str, str] | None = None,
    ) -> dict[str, Any]:
        operation: dict[str, Any] = {
            "tags": [entity],
            "summary": summary,
            "operationId": f"{entity}_{name}",
        }
        parameters = [self.param(p) for p in params]
        if body is not None:
            body_name, description, schema = body
            if self.openapi3:
                media = {"schema": self.ref(schema)}
                operation["requestBody"] = {
                    "description": description,
                    "content": {"application/json": media, "text/json": media},
                    "required": True,
                    "x-bodyName": body_name,
                }
            else:
                operation["consumes"] = ["application/json", "text/json"]
                parameters.append({"in": "body", "name": body_name, "description": description,
                                   "required": True, "schema": self.ref(schema)})  # fmt: skip
        if not self.openapi3 and any("schema" in r for r in responses.values()):
            operation["produces"] = ["application/json", "text/json"]
        if parameters:
            operation["parameters"] = parameters
        operation["responses"] = {**self.errors(), **responses}
        return operation


def _entity_paths(w: _Writer, entity: str, actions: tuple[str, ...]) -> dict[str, Any]:
    one = w.ref(entity)
    lookup = ["select", "filter", "expand", "custom"]
    invalid = "The data specified in the request is invalid."
    deleted = {"204": w.content("The record has been deleted.", None)}
    found = {"200": w.content("The requested record.", one)}
    paths: dict[str, Any] = {}
    for action in actions:
        body = ("invocation", "The record to which the action should be applied and the "
                "parameters of the action.", action)  # fmt: skip
        paths[f"/{entity}/{action}"] = {"post": w.operation(
            entity, f"InvokeAction_{action}", summary="Performs an action in the system.",
            params=[], body=body, responses={
                "204": w.content("The operation that was initiated by the action is "
                                 "completed.", None),
                "202": w.content("The operation is in progress.", None),
                "422": w.content(invalid, one)},
        )}  # fmt: skip
    paths[f"/{entity}/$adHocSchema"] = {"get": w.operation(
        entity, "GetAdHocSchema", params=[],
        summary="Retrieves the schema of custom fields of the entity from the system.",
        responses={"200": w.content("The field name, view name, and type of the fields that "
                   "are not defined in the contract of the endpoint for this entity.", one)},
    )}  # fmt: skip
    paths[f"/{entity}/{{ids}}"] = {
        "get": w.operation(entity, "GetByKeys", params=["ids", *lookup], responses=found,
                           summary="Retrieves a record by the values of its key fields from "
                           "the system."),
        "delete": w.operation(entity, "DeleteByKeys", params=["ids"], responses=deleted,
                              summary="Deletes the record by the values of its key fields."),
    }  # fmt: skip
    paths[f"/{entity}/{{id}}"] = {
        "get": w.operation(entity, "GetById", params=["id", *lookup], responses=found,
                           summary="Retrieves a record by its session identifier."),
        "delete": w.operation(entity, "DeleteById", params=["id"], responses=deleted,
                              summary="Deletes the record by its session identifier."),
    }  # fmt: skip
    listed = {"type": "array", "items": one}
    paths[f"/{entity}"] = {
        "get": w.operation(entity, "GetList", params=[*lookup, "skip", "top"],
                           summary="Retrieves records that satisfy the specified conditions "
                           "from the system.",
                           responses={"200": w.content("The list of records that satisfy the "
                                                       "specified conditions.", listed)}),
        "put": w.operation(entity, "PutEntity", params=lookup,
                           summary="Creates a record or updates an existing record.",
                           body=("entity", "The record to be passed to the system.", entity),
                           responses={
                               "200": w.content("The created or updated record.", one),
                               "400": w.content(invalid, w.ref("HttpError")),
                               "412": w.content("The record with these keys already exists "
                                                "or does not exist.", w.ref("HttpError")),
                               "422": w.content(invalid, one)}),
    }  # fmt: skip
    return paths


def _schemas(w: _Writer, entities: dict[str, EntityDef]) -> dict[str, Any]:
    schemas: dict[str, Any] = {
        "Entity": {"type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"},
            "rowNumber": {"type": "integer", "format": "int64"},
            "note": w.ref("StringValue"),
            "custom": {"type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": w.ref("CustomField")}},
            "error": {"type": "string"},
            "files": {"type": "array", "items": w.ref("FileLink")},
        }},
        "CustomField": {"required": ["type"], "type": "object",
                        "properties": {"type": {"type": "string"}}, "discriminator": "type"
                        if not w.openapi3 else {"propertyName": "type"}},
        "FileLink": {"type": "object", "properties": {
            "id": {"type": "string", "format": "uuid"}, "filename": {"type": "string"},
            "href": {"type": "string", "format": "uri"}, "comment": {"type": "string"}}},
        "HttpError": {"type": "object", "properties": {
            "message": {"type": "string"}, "exceptionMessage": {"type": "string"},
            "exceptionType": {"type": "string"}, "stackTrace": {"type": "string"},
            "modelState": {"type": "object", "additionalProperties": {
                "type": "array", "items": {"type": "string"}}},
            "messageDetail": {"type": "string"}}, "additionalProperties": {"type": "object"}},
    }  # fmt: skip
    for value_type, name in VALUE_SCHEMAS.items():
        schemas[name] = {"type": "object", "properties": {
            "value": dict(JSON_TYPES[value_type]), "error": {"type": "string"}}}  # fmt: skip

    def add(definition: EntityDef) -> None:
        properties: dict[str, Any] = {n: w.ref(VALUE_SCHEMAS[t]) for n, t in
                                      definition.fields.items()}  # fmt: skip
        for name, part in definition.linked.items():
            properties[name] = w.ref(part.schema)
            add(part)
        for name, part in definition.details.items():
            properties[name] = {"type": "array", "items": w.ref(part.schema)}
            add(part)
        schemas[definition.schema] = {"allOf": [w.ref("Entity"), {
            "type": "object", "properties": dict(sorted(properties.items()))}]}  # fmt: skip

    for definition in entities.values():
        add(definition)
    if "Employee" in entities:
        schemas["ChangeEmployeeID"] = {"required": ["entity", "parameters"], "type": "object",
            "properties": {"entity": w.ref("Employee"), "parameters": {"type": "object",
                "properties": {"EmployeeID": w.ref("StringValue")},
                "description": "The parameters of the action."}}}  # fmt: skip
    return schemas


def swagger_document(
    *, endpoint: str, version: str, entities: dict[str, EntityDef], server_url: str
) -> dict[str, Any]:
    """The swagger.json of one endpoint version; `server_url` is `{base}/entity/{name}/{ver}`."""
    openapi3 = version >= "24.200.001"
    w = _Writer(openapi3)
    paths: dict[str, Any] = {}
    for name in entities:
        actions = ("ChangeEmployeeID",) if name == "Employee" else ()
        paths.update(_entity_paths(w, name, actions))
    tags = [{"name": n, "description": d.screen} for n, d in sorted(entities.items())]
    info = {"title": f"{endpoint}/{version}", "version": "4"}
    if openapi3:
        return {
            "openapi": "3.0.1",
            "info": info,
            "servers": [{"url": server_url}],
            "paths": paths,
            "components": {
                "schemas": _schemas(w, entities),
                "responses": {
                    "ContractBasedControllerBase_401": w.content(
                        "The user is not logged in to the system.", w.ref("HttpError")),
                    "ContractBasedControllerBase_500": w.content(
                        "Internal server error.", w.ref("HttpError")),
                },
                "parameters": {k: w.param_definition(k) for k in (*QUERY, "ids", "id")},
            },
            "tags": tags,
        }  # fmt: skip
    parts = urlsplit(server_url)
    return {
        "swagger": "2.0",
        "info": info,
        "host": parts.netloc,
        "basePath": parts.path,
        "schemes": [parts.scheme or "https"],
        "paths": paths,
        "definitions": _schemas(w, entities),
        "tags": tags,
    }
