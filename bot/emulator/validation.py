"""Request-body validation against Discord's own OpenAPI document (``spec/openapi.json``).

Every request path is matched to the document's path templates (literal segments beat parameters, so
``/users/@me`` wins over ``/users/{user_id}``); the operation's ``requestBody`` schema is compiled once
into a Draft 2020-12 validator whose ``$ref``s resolve inside the document, and cached.

Relaxations made in memory, each because real Discord accepts what the document forbids:

- ``SnowflakeType`` also accepts a non-negative integer (discord.py sends some ids as JSON numbers).

Formats are checked for ``uri`` (http, https, attachment or discord scheme; Discord answers "Not a well
formed URL" otherwise) and ``date-time`` (ISO 8601); other formats are annotations only.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from bot.emulator.errors import FormErrors

SPEC_URI = "urn:discord-api-spec:v10"
_METHODS = ("get", "put", "post", "patch", "delete")
_URL_SCHEMES = {"http", "https", "attachment", "discord"}


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A request path resolved to one of the document's path templates."""

    template: str
    params: dict[str, str]
    methods: frozenset[str]


@dataclass(frozen=True, slots=True)
class _Route:
    template: str
    pattern: re.Pattern[str]
    methods: frozenset[str]
    specificity: tuple[int, int]


def _compile_template(template: str) -> re.Pattern[str]:
    parts = re.split(r"(\{[^}]+\})", template)
    regex = "".join(
        f"(?P<{part[1:-1]}>[^/]+)" if part.startswith("{") and part.endswith("}") else re.escape(part) for part in parts
    )
    return re.compile(f"^{regex}$")


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    if parts.scheme not in _URL_SCHEMES:
        return False
    return bool(parts.netloc) or parts.scheme in {"attachment", "discord"}


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _format_checker() -> FormatChecker:
    checker = FormatChecker(formats=())
    checker.checks("uri")(_is_uri)
    checker.checks("date-time")(_is_datetime)
    return checker


def _relax(document: dict[str, Any]) -> dict[str, Any]:
    document = copy.deepcopy(document)
    schemas = document["components"]["schemas"]
    snowflake = schemas["SnowflakeType"]
    schemas["SnowflakeType"] = {"anyOf": [snowflake, {"type": "integer", "minimum": 0}]}
    return document


class ApiSpec:
    """Discord's OpenAPI document, ready to match paths and validate request bodies."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self._document = _relax(dict(document))
        resource = Resource.from_contents(self._document, default_specification=DRAFT202012)
        self._registry: Registry[Any] = Registry().with_resource(SPEC_URI, resource)
        self._format_checker = _format_checker()
        self._validators: dict[tuple[str, str], Draft202012Validator | None] = {}
        routes = []
        for template, item in self._document["paths"].items():
            methods = frozenset(m.upper() for m in item if m in _METHODS)
            n_params = template.count("{")
            routes.append(_Route(template, _compile_template(template), methods, (n_params, -len(template))))
        self._routes = sorted(routes, key=lambda r: r.specificity)

    @classmethod
    def load(cls) -> ApiSpec:
        return _load_packaged()

    def match(self, path: str) -> RouteMatch | None:
        """The most specific template matching ``path`` (relative to ``/api/v10``), if any."""
        for route in self._routes:
            found = route.pattern.match(path)
            if found:
                return RouteMatch(route.template, found.groupdict(), route.methods)
        return None

    def validate(self, method: str, template: str, body: Any) -> FormErrors:
        """Errors of ``body`` against the operation's JSON request schema (empty when valid)."""
        errors = FormErrors()
        validator = self._validator(method, template)
        if validator is None:
            return errors
        for error in validator.iter_errors(body):
            for leaf in _leaves(error):
                _describe(leaf, errors)
        return errors

    def validate_schema(self, name: str, instance: Any) -> FormErrors:
        """Errors of ``instance`` against the document's component schema ``name`` (say ``ThreadResponse``):
        how the emulator's own payloads are checked against what Discord documents it sends."""
        errors = FormErrors()
        validator = self._validators.get(("schema", name))
        if validator is None:
            if name not in self._document["components"]["schemas"]:
                raise KeyError(f"the spec has no schema {name!r}")
            schema = {"$ref": f"{SPEC_URI}#/components/schemas/{quote(name)}"}
            validator = Draft202012Validator(schema, registry=self._registry, format_checker=self._format_checker)
            self._validators[("schema", name)] = validator
        for error in validator.iter_errors(instance):
            for leaf in _leaves(error):
                _describe(leaf, errors)
        return errors

    def _validator(self, method: str, template: str) -> Draft202012Validator | None:
        key = (method.upper(), template)
        if key not in self._validators:
            self._validators[key] = self._build(*key)
        return self._validators[key]

    def _build(self, method: str, template: str) -> Draft202012Validator | None:
        operation = self._document["paths"].get(template, {}).get(method.lower())
        if not operation or "requestBody" not in operation:
            return None
        content = operation["requestBody"].get("content", {})
        media = "application/json" if "application/json" in content else next(iter(content), None)
        if media is None or "schema" not in content[media]:
            return None
        pointer = "/".join(
            _escape(part) for part in ("paths", template, method.lower(), "requestBody", "content", media, "schema")
        )
        schema = {"$ref": f"{SPEC_URI}#/{quote(pointer, safe='/~@')}"}
        return Draft202012Validator(schema, registry=self._registry, format_checker=self._format_checker)


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@functools.cache
def _load_packaged() -> ApiSpec:
    raw = resources.files("bot.emulator.spec").joinpath("openapi.json").read_bytes()
    return ApiSpec(json.loads(raw))


def _leaves(error: ValidationError) -> list[ValidationError]:
    """The errors that explain a failure, looking inside unions at the branch the body was aiming for.

    Discord's schemas are full of ``oneOf: [{type: null}, {$ref: X}]`` and unions discriminated by
    ``type``; reporting "is not valid under any of the given schemas" would hide the real problem.
    """
    if error.validator not in ("anyOf", "oneOf") or not error.context:
        return [error]
    branches: dict[object, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)
    viable = {key: subs for key, subs in branches.items() if not any(_discriminator_miss(sub) for sub in subs)}
    candidates = viable or branches
    # The intended branch is the one that came closest: fewest failures, then the deepest ones.
    best = max(candidates.values(), key=lambda subs: (-len(subs), max(len(sub.relative_path) for sub in subs)))
    return [leaf for sub in best for leaf in _leaves(sub)]


def _discriminator_miss(error: ValidationError) -> bool:
    """True when a union branch was never the intended one (wrong ``type`` tag or wrong JSON type)."""
    path = list(error.relative_path)
    if not path and error.validator == "type":
        return True
    return path == ["type"] and error.validator in ("enum", "const")


def _describe(error: ValidationError, errors: FormErrors) -> None:
    location = tuple(error.absolute_path)
    value: Any = error.validator_value
    instance: Any = error.instance
    match error.validator:
        case "maxLength":
            errors.add(location, "BASE_TYPE_MAX_LENGTH", f"Must be {value} or fewer in length (got {len(instance)}).")
        case "minLength":
            errors.add(location, "BASE_TYPE_MIN_LENGTH", f"Must be {value} or more in length (got {len(instance)}).")
        case "maxItems":
            errors.add(location, "BASE_TYPE_MAX_LENGTH", f"Must be {value} or fewer in length (got {len(instance)}).")
        case "minItems":
            errors.add(location, "BASE_TYPE_MIN_LENGTH", f"Must be {value} or more in length (got {len(instance)}).")
        case "required":
            missing = [name for name in value if isinstance(instance, dict) and name not in instance]
            for name in missing or ["?"]:
                errors.add((*location, name), "BASE_TYPE_REQUIRED", "This field is required")
        case "type":
            errors.add(location, "BASE_TYPE_BAD_TYPE", f"Must be of type {value} (got {_short(instance)}).")
        case "enum" | "const":
            errors.add(location, "BASE_TYPE_CHOICES", f"Value must be one of {value} (got {_short(instance)}).")
        case "maximum" | "exclusiveMaximum":
            errors.add(location, "NUMBER_TYPE_MAX", f"Must be less than or equal to {value} (got {instance}).")
        case "minimum" | "exclusiveMinimum":
            errors.add(location, "NUMBER_TYPE_MIN", f"Must be greater than or equal to {value} (got {instance}).")
        case "pattern":
            errors.add(location, "STRING_TYPE_REGEX", f"String value did not match {value} (got {_short(instance)}).")
        case "format" if value == "uri":
            errors.add(location, "URL_TYPE_INVALID_URL", f"Not a well formed URL (got {_short(instance)}).")
        case "format":
            errors.add(location, "BASE_TYPE_BAD_FORMAT", f"Not a valid {value} (got {_short(instance)}).")
        case _:
            errors.add(location, "BASE_TYPE_INVALID", error.message[:300])


def _short(value: object, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
