"""Load YAML into pydantic models, reporting each error with its file, line and field path."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from estatewatch.config.calendar import CalendarOverride
from estatewatch.config.devices import DeviceKind
from estatewatch.config.site import SiteConfig
from estatewatch.errors import ConfigError, ConfigIssue

M = TypeVar("M", bound=BaseModel)
Loc = tuple[str | int, ...]


class _LineLoader(yaml.SafeLoader):
    """A safe loader that also keeps the node tree, so errors can name lines."""


def _compose(text: str, file: str) -> tuple[Any, yaml.Node | None]:
    try:
        loader = _LineLoader(text)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(
            [
                ConfigIssue(
                    file,
                    mark.line + 1 if mark else None,
                    mark.column + 1 if mark else None,
                    "",
                    f"not valid YAML: {problem}",
                )
            ]
        ) from None
    return data, node


def _node_at(node: yaml.Node | None, loc: Loc) -> yaml.Node | None:
    """The deepest node along `loc` (a pydantic error location)."""
    for part in loc:
        if node is None:
            return None
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            match = next((v for k, v in node.value if getattr(k, "value", None) == part), None)
            if match is None:
                # Discriminated unions add the tag to the path; a missing key points at its
                # mapping.
                continue
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                return node
            node = node.value[part]
        else:
            continue
    return node


def _clean_loc(loc: Loc, data: Any) -> Loc:
    """Drop the parts pydantic inserts for union members (``'elevator'``,
    ``'function-after[...]'``) that are not keys of the document."""
    cleaned: list[str | int] = []
    cursor = data
    for part in loc:
        in_dict = isinstance(cursor, dict) and part in cursor
        in_list = isinstance(cursor, list) and isinstance(part, int) and 0 <= part < len(cursor)
        if in_dict or in_list:
            cleaned.append(part)
            cursor = cursor[part]
        elif isinstance(cursor, dict) and isinstance(part, str) and not _is_union_tag(part):
            cleaned.append(part)  # a missing or unknown key: keep it, it is the fault
            cursor = None
        elif cursor is None and not _is_union_tag(str(part)):
            cleaned.append(part)
    return tuple(cleaned)


def _is_union_tag(part: str) -> bool:
    return (
        "[" in part
        or part in {"modbus_tcp", "modbus_rtu", "mqtt"}
        or part in {kind.value for kind in DeviceKind}
    )


_SINGULAR = {"points": "point", "devices": "device", "checkpoints": "checkpoint",
             "routes": "route", "buildings": "building", "rooms": "room"}  # fmt: skip


def _named(data: Any, loc: Loc, message: str) -> str:
    """`message` led by the name of the innermost listed item `loc` passes through (a point,
    a device...), so "points.7" is also "point 'flow_rate'"."""
    cursor, label = data, None
    for key, index in itertools.pairwise(loc):
        if isinstance(cursor, dict):
            cursor = cursor.get(key)
            if isinstance(cursor, list) and isinstance(index, int) and 0 <= index < len(cursor):
                item = cursor[index]
                name = item.get("name", item.get("id")) if isinstance(item, dict) else None
                if isinstance(name, str) and isinstance(key, str):
                    label = f"{_SINGULAR.get(key, key)} {name!r}"
        elif isinstance(cursor, list) and isinstance(key, int) and 0 <= key < len(cursor):
            cursor = cursor[key]
        else:
            break
    return f"{label}: {message}" if label else message


def _issue(
    file: str, root: yaml.Node | None, loc: Loc, message: str, data: Any = None
) -> ConfigIssue:
    if data is not None:
        message = _named(data, loc, message)
    node = _node_at(root, loc)
    line = node.start_mark.line + 1 if node is not None else None
    column = node.start_mark.column + 1 if node is not None else None
    return ConfigIssue(file, line, column, ".".join(str(p) for p in loc), message)


def parse_model(
    text: str, model: type[M], *, file: str = "<string>", context: dict[str, Any] | None = None
) -> M:
    """Validate YAML `text` as `model`; raise `ConfigError` naming every bad field's line."""
    data, root = _compose(text, file)
    if data is None:
        raise ConfigError([ConfigIssue(file, None, None, "", "the file is empty")])
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        issues = []
        for err in exc.errors(include_url=False):
            loc = _clean_loc(tuple(err["loc"]), data)
            message = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                message = "unknown field (typo?)"
            elif err["type"] == "union_tag_invalid":
                ctx = err.get("ctx", {})
                field = str(ctx.get("discriminator", "")).strip("'")
                loc = (*loc, field)
                expected = re.sub(r"<\w+\.\w+: ('\w+')>", r"\1", str(ctx.get("expected_tags")))
                message = f"{ctx.get('tag')!r} is not one of {expected}"
            issues.append(_issue(file, root, loc, message, data))
        raise ConfigError(issues) from None


def load_model(path: str | Path, model: type[M], *, context: dict[str, Any] | None = None) -> M:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            [ConfigIssue(str(path), None, None, "", exc.strerror or str(exc))]
        ) from None
    return parse_model(text, model, file=str(path), context=context)


def load_site(path: str | Path) -> SiteConfig:
    """Load and fully check a site configuration file."""
    path = Path(path)
    site = load_model(path, SiteConfig, context={"defer_references": True})
    problems = site.reference_problems()
    if problems:
        text = path.read_text(encoding="utf-8")
        _, root = _compose(text, str(path))
        raise ConfigError([_issue(str(path), root, loc, msg) for loc, msg in problems])
    return with_calendar_file(site, path.parent)


def with_calendar_file(site: SiteConfig, folder: Path) -> SiteConfig:
    """`site` with its SLA calendar file (`sla.calendar.file`, relative to `folder`) merged
    into `sla.calendar`; unchanged without one."""
    calendar = site.sla.calendar
    if calendar.file is None:
        return site
    override = load_model(folder / calendar.file, CalendarOverride)
    sla = site.sla.model_copy(update={"calendar": calendar.merged(override)})
    return site.model_copy(update={"sla": sla})


def parse_site(text: str, *, file: str = "<string>") -> SiteConfig:
    site = parse_model(text, SiteConfig, file=file, context={"defer_references": True})
    problems = site.reference_problems()
    if problems:
        _, root = _compose(text, file)
        raise ConfigError([_issue(file, root, loc, msg) for loc, msg in problems])
    return site
