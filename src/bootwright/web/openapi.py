"""The OpenAPI 3.1 description of the REST API, served at ``/api/openapi.json``.

Kept as data next to the handlers; ``tests/unit/test_api.py`` checks that
every route the API registers is described here and nothing else is.
"""

from __future__ import annotations

from typing import Any

from bootwright import __version__


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _text(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"text/plain": {"schema": {"type": "string"}}}}


_ERR = {
    "400": {"$ref": "#/components/responses/BadRequest"},
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "403": {"$ref": "#/components/responses/Forbidden"},
}
_NOT_FOUND = {"404": {"$ref": "#/components/responses/NotFound"}}
_CONFLICT = {"409": {"$ref": "#/components/responses/Conflict"}}
# A BMC that refused (credentials included) or did not answer in time.
_BMC = {"502": {"$ref": "#/components/responses/BadGateway"}, "504": {"$ref": "#/components/responses/GatewayTimeout"}}
_NAME = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
_WRITE: list[dict[str, list[str]]] = [{"bearer": []}]


def _op(
    summary: str, responses: dict[str, Any], *, params: list[Any] | None = None, body: Any = None, write: bool = False
) -> dict[str, Any]:
    op: dict[str, Any] = {"summary": summary, "responses": {**responses, **{"403": _ERR["403"]}}}
    if params:
        op["parameters"] = params
    if body is not None:
        op["requestBody"] = {"required": True, "content": body}
    if write:
        op["security"] = _WRITE
        op["responses"].update({"400": _ERR["400"], "401": _ERR["401"]})
    return op


def _q(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


HOST_PROPS: dict[str, Any] = {
    "name": {"type": "string"},
    "mac": {"type": "array", "items": {"type": "string", "example": "52:54:00:12:34:56"}},
    "ipv4": {"type": "string", "format": "ipv4"},
    "ipv6": {"type": "string", "format": "ipv6"},
    "duid": {"type": "string", "description": "DHCPv6 client DUID in hex"},
    "groups": {"type": "array", "items": {"type": "string"}},
    "target": {"type": "string", "description": "a target or menu name"},
    "next_server": {"type": "string", "format": "ipv4"},
    "bootfile": {"type": "string"},
    "vars": {"type": "object", "additionalProperties": {"type": "string"}},
    "bmc": {"$ref": "#/components/schemas/Bmc"},
    "menu_default": {"type": "string", "description": "the item of the host's iPXE menu preselected for it"},
}

SCHEMAS: dict[str, Any] = {
    "Error": {
        "type": "object",
        "required": ["error", "problems"],
        "properties": {
            "error": {"type": "string"},
            "problems": {
                "type": "array",
                "items": {"type": "object", "properties": {"path": {"type": "string"}, "message": {"type": "string"}}},
            },
        },
    },
    "HostInput": {"type": "object", "required": ["name"], "properties": HOST_PROPS, "additionalProperties": False},
    "HostChanges": {
        "type": "object",
        "description": "keys to change; null removes a key",
        "properties": {k: {**v, "nullable": True} for k, v in HOST_PROPS.items() if k != "name"},
        "additionalProperties": False,
    },
    "Host": {
        "type": "object",
        "properties": {
            **HOST_PROPS,
            "source": {"type": "string", "enum": ["config", "local"]},
            "overrides": {
                "type": "array",
                "items": {"type": "string"},
                "description": "keys of a config host changed through CLI/API",
            },
            "boot": {"oneOf": [_ref("OneShot"), {"type": "null"}]},
        },
    },
    "OneShot": {
        "type": "object",
        "properties": {
            "host": {"type": "string"},
            "target": {"type": "string"},
            "state": {"type": "string", "enum": ["pending", "booting", "done", "failed"]},
            "requested": {"type": "number"},
            "updated": {"type": "number"},
            "files": {"type": "array", "items": {"type": "array", "items": {"type": "string"}}},
            "fetched": {"type": "array", "items": {"type": "string"}},
            "reason": {"type": ["string", "null"]},
        },
    },
    "Bmc": {
        "type": "object",
        "description": "the host's BMC (docs/power.md); the password is write-only: read back as password_set",
        "required": ["driver", "address"],
        "properties": {
            "driver": {"type": "string", "enum": ["ipmi", "redfish"]},
            "address": {"type": "string", "description": "host name or address; Redfish also a URL"},
            "port": {"type": "integer"},
            "username": {"type": "string"},
            "password": {"type": "string", "writeOnly": True},
            "password_file": {"type": "string", "description": "absolute path, read at each use"},
            "password_env": {"type": "string", "description": "environment variable of the server process"},
            "password_set": {"type": "boolean", "readOnly": True},
            "system": {"type": "string", "description": "Redfish: /redfish/v1/Systems/<id>"},
            "cipher_suite": {"type": "integer", "enum": [3, 17]},
            "verify_tls": {"type": "boolean"},
        },
    },
    "Reprovision": {
        "type": "object",
        "properties": {
            "target": {"type": ["string", "null"], "description": "boot this target (once by default)"},
            "once": {"type": "boolean", "default": True},
            "uefi": {"type": ["boolean", "null"], "description": "ask the BMC for UEFI (true) or legacy (false)"},
            "http": {"type": "boolean", "default": False, "description": "UEFI HTTP boot (Redfish)"},
            "grace": {"type": "number", "default": 60, "description": "seconds before a hard power-off"},
        },
        "additionalProperties": False,
    },
    "Reprovisioned": {
        "type": "object",
        "properties": {
            "host": {"type": "string"},
            "ok": {"type": "boolean"},
            "error": {"type": "string"},
            "boot": {"oneOf": [{"$ref": "#/components/schemas/OneShot"}, {"type": "null"}]},
            "power_was": {"type": "string", "enum": ["on", "off"]},
            "steps": {"type": "array", "items": {"type": "string"}},
            "note": {"type": ["string", "null"]},
            "timeline": {"type": "string", "description": "where to follow the boot"},
        },
    },
    "BootRequest": {
        "type": "object",
        "required": ["target"],
        "properties": {"target": {"type": "string"}, "once": {"type": "boolean", "default": True}},
        "additionalProperties": False,
    },
    "Target": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "type": {"type": "string", "enum": ["target", "menu"]},
            "kind": {
                "type": "string",
                "enum": ["kernel", "chain", "sanboot", "efi", "config", "shell", "exit", "ipxe", "empty", "menu"],
            },
            "label": {"type": ["string", "null"]},
        },
    },
    "Lease": {
        "type": "object",
        "properties": {
            "family": {"type": "integer"},
            "address": {"type": "string"},
            "mac": {"type": ["string", "null"]},
            "client": {"type": "string"},
            "hostname": {"type": ["string", "null"]},
            "expires": {"type": "number"},
            "state": {"type": "string"},
        },
    },
    "Event": {
        "type": "object",
        "properties": {
            "id": {"type": "integer"},
            "at": {"type": "number"},
            "kind": {"type": "string"},
            "mac": {"type": ["string", "null"]},
            "host": {"type": ["string", "null"]},
            "detail": {"type": "object"},
        },
    },
    "Attempt": {
        "type": "object",
        "properties": {
            "mac": {"type": ["string", "null"]},
            "host": {"type": ["string", "null"]},
            "started": {"type": "number"},
            "last": {"type": "number"},
            "stage": {"type": ["string", "null"]},
            "status": {"type": "string", "enum": ["complete", "failed", "stalled", "in progress"]},
            "stop": {"type": "string", "description": "the likely stop point, or the result"},
            "steps": {"type": "array", "items": {"type": "object"}},
        },
    },
    "Status": {
        "type": "object",
        "properties": {
            "version": {"type": "string"},
            "config": {"type": "string", "description": "the config file"},
            "started": {"type": ["number", "null"]},
            "services": {"type": "object", "additionalProperties": {"type": "string"},
                         "description": "service → what it listens on"},
            "reloads": {"type": "integer", "description": "reloads applied since start"},
            "last_reload_error": {"type": ["string", "null"], "description": "why the last reload was refused"},
            "check": {
                "type": "object",
                "properties": {
                    "ok": {"type": "boolean"},
                    "errors": {"type": "array", "items": _ref("Problem")},
                    "warnings": {"type": "array", "items": _ref("Problem")},
                    "skipped": {"type": "object", "additionalProperties": {"type": "array", "items": _ref("Problem")},
                                "description": "inventory hosts left out, with why"},
                },
            },
        },
    },
    "Problem": {
        "type": "object",
        "properties": {
            "path": {"type": "string"},
            "message": {"type": "string"},
            "line": {"type": ["integer", "null"]},
            "text": {"type": "string", "description": "file:line: path: message"},
        },
    },
}


def _error_response(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


def openapi_spec() -> dict[str, Any]:
    """The whole OpenAPI document."""
    host_list = {"type": "object", "properties": {"hosts": {"type": "array", "items": _ref("Host")}}}
    boot = {"type": "object", "properties": {"boot": {"oneOf": [_ref("OneShot"), {"type": "null"}]}}}
    paths: dict[str, Any] = {
        "/api/openapi.json": {"get": _op("This document", {"200": _json({"type": "object"})})},
        "/api/hosts": {
            "get": _op(
                "List hosts",
                {"200": _json(host_list)},
                params=[_q("group", {"type": "string"}, "only members of this group")],
            ),
            "post": _op(
                "Add a host",
                {"201": _json(_ref("Host")), **_CONFLICT},
                body={"application/json": {"schema": _ref("HostInput")}},
                write=True,
            ),
        },
        "/api/hosts/{name}": {
            "parameters": [_NAME],
            "get": _op("Show a host", {"200": _json(_ref("Host")), **_NOT_FOUND}),
            "patch": _op(
                "Change keys of a host (null removes one)",
                {"200": _json(_ref("Host")), **_NOT_FOUND},
                body={"application/json": {"schema": _ref("HostChanges")}},
                write=True,
            ),
            "delete": _op(
                "Remove a host added through CLI/API",
                {"204": {"description": "removed"}, **_NOT_FOUND, **_CONFLICT},
                write=True,
            ),
        },
        "/api/hosts/{name}/boot": {
            "parameters": [_NAME],
            "get": _op("The host's one-shot boot", {"200": _json(boot), **_NOT_FOUND}),
            "put": _op(
                "Boot a target once (once=true) or set the host's target (once=false)",
                {"201": _json(boot), "200": _json(_ref("Host")), **_NOT_FOUND},
                body={"application/json": {"schema": _ref("BootRequest")}},
                write=True,
            ),
            "delete": _op("Cancel the one-shot boot", {"204": {"description": "cancelled"}, **_NOT_FOUND}, write=True),
        },
        "/api/hosts/{name}/power": {
            "parameters": [_NAME],
            "get": _op("The host's power as its BMC reports it", {"200": _json({"type": "object", "properties": {
                "host": {"type": "string"}, "bmc": {"type": "string"},
                "power": {"type": "string", "enum": ["on", "off"]}}}), **_NOT_FOUND, **_CONFLICT, **_BMC}),
            "post": _op(
                "Press the button: on, off (hard), soft (ACPI), cycle or reset",
                {"200": _json({"type": "object"}), **_NOT_FOUND, **_CONFLICT, **_BMC},
                body={"application/json": {"schema": {"type": "object", "required": ["action"], "properties": {
                    "action": {"type": "string", "enum": ["on", "off", "soft", "cycle", "reset"]}}}}},
                write=True,
            ),
        },
        "/api/hosts/{name}/reprovision": {
            "parameters": [_NAME],
            "post": _op(
                "Boot a target once through the BMC: one-shot, next boot from the network, power cycle",
                {"200": _json(_ref("Reprovisioned")), **_NOT_FOUND, **_CONFLICT, **_BMC},
                body={"application/json": {"schema": _ref("Reprovision")}},
                write=True,
            ),
        },
        "/api/groups/{group}/reprovision": {
            "parameters": [{"name": "group", "in": "path", "required": True, "schema": {"type": "string"}}],
            "post": _op(
                "Reprovision every host of a group (bounded concurrency); one result per host",
                {"200": _json({"type": "object", "properties": {
                    "group": {"type": "string"}, "ok": {"type": "integer"},
                    "results": {"type": "array", "items": _ref("Reprovisioned")}}}), **_NOT_FOUND},
                body={"application/json": {"schema": _ref("Reprovision")}},
                write=True,
            ),
        },
        "/api/hosts/{name}/timeline": {
            "parameters": [_NAME],
            "get": _op(
                "Boot attempts with readable steps and the likely stop point",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "host": {"type": "string"},
                                "attempts": {"type": "array", "items": _ref("Attempt")},
                            },
                        }
                    ),
                    **_NOT_FOUND,
                },
                params=[_q("limit", {"type": "integer"}, "newest events considered")],
            ),
        },
        "/api/boots": {
            "get": _op(
                "Every host's latest one-shot boot",
                {
                    "200": _json(
                        {"type": "object", "properties": {"boots": {"type": "array", "items": _ref("OneShot")}}}
                    )
                },
            )
        },
        "/api/import": {
            "post": _op(
                "Import hosts from a file (all or nothing)",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "added": {"type": "array"},
                                "updated": {"type": "array"},
                                "removed": {"type": "array"},
                                "unchanged": {"type": "array"},
                                "adopted": {"type": "array"},
                                "dry_run": {"type": "boolean"},
                                "sync": {"type": "boolean"},
                            },
                        }
                    ),
                    **_CONFLICT,
                },
                params=[
                    _q("format", {"type": "string", "enum": ["isc", "csv", "dnsmasq"]}, "guessed when absent"),
                    _q("dry_run", {"type": "boolean"}, "check only"),
                    _q("origin", {"type": "string"}, "the source the hosts are kept under (default: body)"),
                    _q("sync", {"type": "boolean"}, "the body is the source of truth for the hosts of origin"),
                ],
                body={"text/plain": {"schema": {"type": "string"}}},
                write=True,
            )
        },
        "/api/export": {
            "get": _op(
                "Export hosts",
                {"200": _text("the file"), "400": _ERR["400"]},
                params=[
                    _q(
                        "format",
                        {
                            "type": "string",
                            "enum": ["isc", "isc6", "dnsmasq", "csv", "bind-forward", "bind-reverse", "hosts"],
                        },
                        "required",
                    ),
                    _q("domain", {"type": "string"}, "zone domain (default: the config's domain_name)"),
                    _q("network", {"type": "string"}, "network of a reverse zone"),
                    _q(
                        "ns",
                        {"type": "array", "items": {"type": "string", "example": "pi=192.168.2.10"}},
                        "zone name server NAME[=ADDRESS,…], repeatable (default: this server)",
                    ),
                ],
            )
        },
        "/api/targets": {
            "get": _op(
                "Targets and menus",
                {
                    "200": _json(
                        {"type": "object", "properties": {"targets": {"type": "array", "items": _ref("Target")}}}
                    )
                },
            )
        },
        "/api/targets/{name}": {
            "parameters": [_NAME],
            "get": _op("One target or menu", {"200": _json(_ref("Target")), **_NOT_FOUND}),
        },
        "/api/leases": {
            "get": _op(
                "Stored leases",
                {
                    "200": _json(
                        {"type": "object", "properties": {"leases": {"type": "array", "items": _ref("Lease")}}}
                    ),
                    "400": _ERR["400"],
                },
                params=[_q("family", {"type": "integer", "enum": [4, 6]}, "default 4")],
            )
        },
        "/api/events": {
            "get": _op(
                "Events, oldest first",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {
                                "events": {"type": "array", "items": _ref("Event")},
                                "last_id": {"type": "integer"},
                            },
                        }
                    ),
                    "400": _ERR["400"],
                },
                params=[
                    _q("mac", {"type": "string"}, "repeatable"),
                    _q("host", {"type": "string"}, "host name"),
                    _q("after", {"type": "integer"}, "only events with a larger id (to follow)"),
                    _q("limit", {"type": "integer"}, "newest N (default 500)"),
                ],
            )
        },
        "/api/events/stream": {
            "get": _op(
                "Follow events as server-sent events (text/event-stream): 'step' messages with their event id "
                "and the readable step, 'dropped' when this client fell behind; resumes after Last-Event-ID",
                {
                    "200": {
                        "description": "an endless stream; comment lines every 15 s",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    "400": _ERR["400"],
                    "503": _error_response("too many streams are open"),
                },
                params=[
                    _q("mac", {"type": "string"}, "repeatable; events of these MACs"),
                    _q("host", {"type": "string"}, "events of this host (either matches; neither: all events)"),
                    _q("after", {"type": "integer"}, "start after this event id (the Last-Event-ID header wins)"),
                    {"name": "Last-Event-ID", "in": "header", "required": False, "schema": {"type": "string"},
                     "description": "the id of the last event seen: the stream resumes after it"},
                ],
            )
        },
        "/api/status": {
            "get": _op(
                "What runs, and the check of the running configuration with the inventory",
                {"200": _json(_ref("Status"))},
            )
        },
        "/api/reload": {
            "post": _op(
                "Re-read the config file now",
                {
                    "200": _json(
                        {
                            "type": "object",
                            "properties": {"reloaded": {"type": "boolean"}, "warnings": {"type": "array"}},
                        }
                    )
                },
                write=True,
            )
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "bootwright API",
            "version": __version__,
            "description": "Hosts, targets, one-shot boots, leases and events of a bootwright server. "
            "Requests come from [api] admin_networks; reads from anonymous_read_networks need no "
            "credentials, other reads and every write need the bearer token from the state directory's "
            "api-token file, or the web UI's session cookie (with its X-CSRF-Token header on writes; "
            "writes need the admin role). See docs/api.md.",
        },
        "paths": paths,
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "BadRequest": _error_response("bad JSON or a refused value"),
                "Unauthorized": _error_response("no credentials, or an ended UI session"),
                "Forbidden": _error_response("not from an admin network, a wrong token, or a read-only user"),
                "NotFound": _error_response("no such host, target or route"),
                "Conflict": _error_response("the name exists, the host is defined in the config file, or it has "
                                            "no BMC"),
                "BadGateway": _error_response("the host's BMC refused the request or the credentials"),
                "GatewayTimeout": _error_response("the host's BMC did not answer in time"),
            },
        },
    }
