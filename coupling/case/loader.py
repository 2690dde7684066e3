"""Read a TOML case file, apply ``--set`` overrides, validate, and explain any error in one line."""

from __future__ import annotations

import copy
import difflib
import re
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from coupling.case.common import CaseSpec, _toml_text
from coupling.case.registry import schema_for, solver_names
from coupling.errors import CaseError


@dataclass
class Case:
    """A validated case: the spec (pydantic model), its raw data and where it came from."""

    spec: CaseSpec
    data: dict[str, Any]
    path: Path | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    #: learned laws built for this case: table key → (law, out_of_distribution policy)
    learned_laws: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The case name: the file stem (``case`` when built in memory)."""
        return self.path.stem if self.path else "case"

    @property
    def solver(self) -> str:
        """The solver name (``fem``, ``nmm``, ``dda``, ``data_driven``)."""
        return self.spec.solver

    def resolve(self, relative: str) -> Path:
        """A path given in the case file, relative to the case file's folder."""
        p = Path(relative)
        if p.is_absolute() or self.path is None:
            return p
        return self.path.parent / p

    def error(self, key: str, found: str, allowed: str = "") -> CaseError:
        """A :class:`CaseError` naming this case file and ``key`` (``--set key`` where an override
        wrote it: :func:`_blame_override`)."""
        return _blame_override(CaseError(self.path, key, found, allowed), self.overrides)


#: the folder of the shipped cases (a bare case name on the command line is one of them)
SHIPPED_CASES = Path(__file__).resolve().parents[2] / "cases"


# ---------------------------------------------------------------------------- overrides
_KEY_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
#: a full override key path, e.g. ``materials.rock.E`` or ``cracks[0].points``
KEY_PATH = re.compile(r"[A-Za-z_][\w-]*(\[\d+\])*(\.[\w-]+(\[\d+\])*)*")


def split_key(key: str) -> list[str | int]:
    """A ``--set`` key path as its parts: names (str) and array indices (int), e.g.
    ``blocks[0].polygon[2][1]`` → ['blocks', 0, 'polygon', 2, 1]."""
    parts: list[str | int] = []
    for name, index in _KEY_PART.findall(key):
        if index:
            parts.append(int(index))
        elif name.isdigit():
            parts.append(int(name))
        else:
            parts.append(name)
    return parts


def _parse_value(text: str, key: str = "") -> Any:
    """A TOML value (number, bool, string, array, inline table); bare words stay strings.

    A value that opens an array, an inline table or a quoted string (``[``, ``{``, ``"``,
    ``'``) and is not valid TOML (unclosed, a repeated key, ...) is an error naming the
    ``--set`` key and the TOML fault, not a bare string that fails later as "a number"."""
    try:
        doc = tomllib.loads(f"v = {text}")
    except tomllib.TOMLDecodeError as exc:
        if text[:1] in ("[", "{", '"', "'"):
            fault = re.sub(r"\s*\((at line \d+, column \d+|at end of document)\)$", "", str(exc)) or "syntax error"
            raise CaseError("--set", key or None, f"found {text!r}: not a TOML value ({fault})",
                            "a TOML value, e.g. [1.0, 2.0], {kind = \"coulomb\", phi = 30.0}, \"text\"") from None
        return text
    if set(doc) != {"v"}:  # a line break in the value: '1e-3\nx=1' set x too, silently ignored before session 18
        raise CaseError("--set", key or None, f"found {text!r}: more than one value (a line break in it)",
                        "one TOML value on one line, e.g. [1.0, 2.0], {kind = \"coulomb\", phi = 30.0}, \"text\"")
    return doc["v"]


def parse_overrides(items: list[str] | None) -> dict[str, Any]:
    """``["a.b=1", "c=x"]`` → ``{"a.b": 1, "c": "x"}``."""
    out: dict[str, Any] = {}
    for item in items or []:
        allowed = "key.path=value, e.g. mesh.cells=[20, 2]"
        if "=" not in item:
            raise CaseError("--set", None, f"found {item!r}", allowed)
        key, value = item.split("=", 1)
        key = key.strip()
        if not KEY_PATH.fullmatch(key):
            raise CaseError("--set", None, f"found {item!r} ({'no' if not key else 'malformed'} key path)", allowed)
        out[key] = _parse_value(value.strip(), key)
    return out


def apply_overrides(data: dict[str, Any], overrides: dict[str, Any], source: str) -> dict[str, Any]:
    """A copy of ``data`` with ``--set KEY=VALUE`` overrides applied (errors name ``source``)."""
    data = copy.deepcopy(data)
    for key, value in overrides.items():
        parts = split_key(key)
        if parts[0] == "extends":
            raise CaseError("--set", key, f"found {value!r}", "extends only in a case file (it is resolved before "
                            "--set applies); --set the keys themselves")
        node: Any = data
        for depth, part in enumerate(parts[:-1]):
            if isinstance(parts[depth + 1], int) and isinstance(node, dict) and part not in node:
                raise CaseError("--set", key, f"'{_join(parts[: depth + 1])}' is not in the case file",
                                f"the whole array, e.g. --set {_join(parts[: depth + 1])}=[...]")
            try:
                node = node[part] if isinstance(part, int) else node.setdefault(part, {})
            except (IndexError, KeyError, TypeError, AttributeError):
                raise CaseError(source, f"--set {key}", f"'{_join(parts[: depth + 1])}' does not exist",
                                _what_exists(node, parts[:depth])) from None
        last = parts[-1]
        if isinstance(last, int) and isinstance(node, dict):  # an index into a table ('dda[0]')
            raise CaseError(source, f"--set {key}", f"'{_join(parts[:-1])}' is a table, not an array",
                            f"a key of it, e.g. --set {_join(parts[:-1])}.NAME=VALUE")
        try:
            # a copy: a later override inside this value ('law' then 'law.phi') must not change
            # the caller's object, nor the overrides summary.json records and an ensemble resumes on
            node[last] = copy.deepcopy(value)
        except (IndexError, TypeError):
            raise CaseError(source, f"--set {key}", f"'{key}' does not exist", _what_exists(node, parts[:-1])) from None
    return data


def _what_exists(node: Any, parts: list[str | int]) -> str:
    """What a ``--set`` key may index at ``parts`` (whose value is ``node``), for an error's
    "allowed": the indices of an array, or that a value has no parts."""
    name = _join(parts)
    if isinstance(node, list):
        if not node:
            return f"{name} is empty: the whole array, e.g. --set {name}=[...]"
        return (f"an index 0-{len(node) - 1} of {name} ({len(node)} entr{'y' if len(node) == 1 else 'ies'}), "
                f"or the whole array, e.g. --set {name}=[...]")
    return f"{name} is a value ({_toml_text(node)}), not a table or array: --set {name}=VALUE"


# ---------------------------------------------------------------------------- loading
def load_case(path: str | Path, overrides: dict[str, Any] | list[str] | None = None) -> Case:
    """Read and validate a case file (or a shipped case by name, e.g. ``"cantilever"``);
    raise :class:`CaseError` with a one-line message.

    overrides : {"key.path": value} or ["key.path=value", …] (TOML values, the case file's SI
                units: m, kg, s, Pa; e.g. {"mesh.cells": [160, 16], "material.E": 30e9}),
                applied before validation
    Returns a :class:`Case` whose ``spec`` (every table a frozen pydantic model: read-only)
    holds the validated input with all defaults filled in; docs/cases.md lists every key,
    its unit and range.
    """
    path = Path(path)
    shipped = SHIPPED_CASES / f"{path.name}.toml"
    # a shipped case by name, also when a folder of that name is in the working folder (a run
    # folder written with -o NAME): only a file is read as the case file
    if not path.is_file() and not path.suffix and path.parent == Path(".") and shipped.is_file():
        path = shipped
    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    overrides = overrides or {}
    if not path.is_file():
        from learned.files import missing_file

        raise CaseError(path, None, missing_file(path),
                        _case_file_hint(path, shipped.parent))
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))  # a byte-order mark (Windows editors) is no TOML fault
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(path, None, f"TOML syntax error: {exc}")
    except UnicodeDecodeError:
        raise CaseError(path, None, "not a text file", "a TOML case file (UTF-8)")
    except OSError as exc:
        raise CaseError(path, None, f"cannot read ({exc.strerror})", "a readable TOML case file")
    data = _resolve_extends(data, path, seen=(path.resolve(),))
    data = apply_overrides(data, overrides, str(path))
    return validate_case(data, path, overrides)


def _case_file_hint(path: Path, shipped_dir: Path) -> str:
    """What a CASE argument that is no file may be: a shipped case by name (the closest one to a
    misspelt name), or a case file."""
    names = sorted(p.stem for p in shipped_dir.glob("*.toml"))
    if path.suffix == ".toml" and path.stem in names:
        return f"a case file, or the shipped case by its name: {path.stem}"
    lower = {n.lower(): n for n in names}
    close = difflib.get_close_matches(path.stem.lower(), list(lower), n=1, cutoff=0.6)
    if close:
        return f"a case file, or a shipped case name: did you mean '{lower[close[0]]}'? (deepmanifold cases lists them)"
    return "a case file, or a shipped case name (deepmanifold cases lists them)"


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """Tables merge key by key; any other value (arrays included) replaces the base's. A
    table of another kind (its ``kind`` or ``law`` name differs) replaces the base's table;
    a ``law`` that is itself a table (a DDA joint's ``[joints.NAME.law]``) merges as a table."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        old = out.get(key)
        same_kind = isinstance(old, dict) and isinstance(value, dict) and all(
            isinstance(value.get(tag), dict) or value.get(tag, old.get(tag)) == old.get(tag) for tag in ("kind", "law"))
        if same_kind:
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve_extends(data: dict[str, Any], path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    """``extends = "other.toml"``: this case is that case with these keys changed."""
    if "extends" not in data:
        return data
    target = data["extends"]
    if not isinstance(target, str):
        raise CaseError(path, "extends", f"found {target!r}", "a case file name, relative to this one")
    base_path = (path.parent / target).resolve()
    if base_path in seen:
        raise CaseError(path, "extends", f"'{target}' extends itself (cycle)", "a chain of distinct case files")
    if not base_path.is_file():
        shipped = SHIPPED_CASES / f"{Path(target).stem}.toml"
        hint = (f"; the shipped case '{shipped.stem}' is {shipped} (copy it beside this file, or give that path)"
                if shipped.is_file() and Path(target).suffix in ("", ".toml") else "")
        from learned.files import missing_file

        raise CaseError(path, "extends", missing_file(base_path, f"'{target}'"), "a case file name, relative to this one" + hint)
    try:
        base = tomllib.loads(base_path.read_text(encoding="utf-8-sig"))
    except tomllib.TOMLDecodeError as exc:
        raise CaseError(base_path, None, f"TOML syntax error: {exc}")
    except UnicodeDecodeError:
        raise CaseError(path, "extends", f"'{target}' is not a text file", "a TOML case file")
    except OSError as exc:
        raise CaseError(path, "extends", f"cannot read '{target}' ({exc.strerror})", "a readable TOML case file")
    base = _resolve_extends(base, base_path, seen + (base_path,))
    return _merge(base, {k: v for k, v in data.items() if k != "extends"})


def with_overrides(case: Case, overrides: dict[str, Any] | list[str] | None) -> Case:
    """``case`` with more overrides applied and validated again (a new Case; the old one is unchanged)."""
    if not overrides:
        return case
    if isinstance(overrides, list):
        overrides = parse_overrides(overrides)
    data = apply_overrides(case.data, overrides, str(case.path) if case.path else "overrides")
    return validate_case(data, case.path, {**case.overrides, **overrides})


def validate_case(data: dict[str, Any], path: Path | None = None, overrides: dict | None = None) -> Case:
    """Validate an already-parsed case dictionary."""
    solver = data.get("solver")
    if solver is None:
        raise CaseError(path, "solver", "missing required key", " | ".join(solver_names()))
    if solver not in solver_names():
        raise _blame_override(CaseError(path, "solver", f"found {_toml_text(solver)}", " | ".join(solver_names())),
                              overrides)
    schema = schema_for(solver)
    try:
        spec = schema.model_validate(data)
    except ValidationError as exc:
        raise _blame_override(_explain(exc, schema, data, path), overrides) from None
    return Case(spec=spec, data=data, path=path, overrides=dict(overrides or {}))


def _blame_override(error: CaseError, overrides: dict | None) -> CaseError:
    """An error at a key path a ``--set`` override wrote (the override's own key, or a key inside
    the table or array it set) says so, ``file: --set KEY: ...``: the key is not in the file."""
    key = error.key
    if not overrides or not key or key.startswith("--set "):
        return error
    for k in overrides:
        k = _join(split_key(k))
        if key == k or key.startswith((k + ".", k + "[")):
            return CaseError(error.file, f"--set {key}", error.found, error.allowed)
    return error


def validate_option_table(annotation: Any, data: dict[str, Any], option: str) -> Any:
    """Validate an inline table given on the command line (``--set``-like options such as
    ``data generate --material '{law=..., E=...}'``) against a schema type (a model or a
    discriminated union of models); returns the validated object.

    A bad table raises :class:`CaseError` naming ``option`` and the key path inside it, with
    the same wording as the case-file errors (exit 2, one line)."""
    from pydantic import TypeAdapter

    try:
        return TypeAdapter(annotation).validate_python(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = [p for p in err["loc"] if p not in (data.get("law"), data.get("kind"))]
        found = err.get("input")
        allowed = _allowed_text(err["msg"])
        if err["type"] == "missing":
            found_text, allowed = "missing required key", ""
        elif err["type"] == "extra_forbidden":
            found_text, allowed = f"unknown key '{loc[-1]}'", "the keys of this law (see docs/cases.md)"
        elif err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            tag = err["ctx"]["discriminator"].strip("'")
            loc = [tag]
            found_text = f"found {err['ctx'].get('tag')!r}" if err["type"] == "union_tag_invalid" else "missing required key"
            allowed = err["ctx"].get("expected_tags", "").replace("'", "").replace(", ", " | ")
        else:
            custom = _scalar_kind_error(err, _join(loc), option)
            if custom is not None:
                raise custom from None
            found_text = f"found {found!r}"
        raise CaseError(option, _join(loc) or None, found_text, allowed) from None


# ---------------------------------------------------------------------------- error text
def _join(loc: tuple | list) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """Pydantic model classes inside an annotation (through Optional, list, Union, Annotated)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out: list[type[BaseModel]] = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def _model_at(schema: type[BaseModel], data: Any, loc: tuple) -> type[BaseModel] | None:
    """The model class that validates the table at ``loc`` (following discriminators)."""
    model, node = schema, data
    dict_key_next = False
    candidates: list[type[BaseModel]] = []
    for part in loc:
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
            continue
        node = node.get(part) if isinstance(node, dict) else None
        if dict_key_next:  # a key of a name -> table mapping, e.g. joints.NAME
            dict_key_next = False
            model = _pick(candidates, node)
            continue
        if model is None or part not in model.model_fields:
            return None
        annotation = model.model_fields[part].annotation
        candidates = _models_in(annotation)
        if typing.get_origin(annotation) is dict:
            dict_key_next = True
            continue
        model = _pick(candidates, node)
    return model


def _pick(candidates: list[type[BaseModel]], node: Any) -> type[BaseModel] | None:
    if len(candidates) <= 1:
        return candidates[0] if candidates else None
    for cls in candidates:  # discriminated union: match the tag value
        for name, f in cls.model_fields.items():
            args = typing.get_args(f.annotation)
            if typing.get_origin(f.annotation) is typing.Literal and isinstance(node, dict):
                if node.get(name) in args:
                    return cls
    return None


#: pydantic phrases → the project's words (messages never show the validation library's text)
_PHRASES = {
    "Field required": "a value (missing required key)",
    "Extra inputs are not permitted": "only the documented keys",
    "Input should be a valid dictionary or instance of": "a table",
    "Input should be a valid dictionary": "a table",
    "Input should be a valid list": "an array",
    "Input should be a valid tuple": "an array",
    "Input should be a finite number": "a finite number",
    "Input should be a valid number, unable to parse string as a number": "a number",
    "Input should be a valid number": "a number",
    "Input should be a valid integer, unable to parse string as an integer": "an integer",
    "Input should be a valid integer, got a number with a fractional part": "an integer",
    "Input should be a valid integer": "an integer",
    "Input should be a valid string": "a string",
    "Input should be a valid boolean": "true | false",
    "Unable to parse input string as an integer, exceeded maximum size": "an integer of at most 19 digits",
}


def _allowed_text(msg: str) -> str:
    # "a valid dictionary or instance of WaterSpec" / "or object to extract fields from": a table
    msg = re.sub(r"^Input should be a valid dictionary or (instance of \w+|object to extract fields from)",
                 "Input should be a valid dictionary", msg)
    for phrase, ours in _PHRASES.items():
        if msg.startswith(phrase):
            msg = ours + msg[len(phrase):]
            break
    msg = re.sub(r"^Value error, ", "", msg)
    msg = re.sub(r"^Tuple should have at most (\d+) items? after validation, not (\d+)", r"\1 items", msg)
    msg = re.sub(r"^Tuple should have at least (\d+) items? after validation, not (\d+)", r"\1 items", msg)
    msg = re.sub(r"^List should have at least (\d+) items? after validation, not (\d+)", r"at least \1 items", msg)
    msg = re.sub(r"^Input should be ", "must be ", msg)
    msg = re.sub(r"^Input ", "", msg)
    return msg


def _is_type_tag(part: Any) -> bool:
    """pydantic names a union branch by its type in ``loc`` ('float', 'list[tuple[float, float]]')."""
    return isinstance(part, str) and (part in ("float", "int", "str", "bool") or "[" in part)


def _scalar_kind_error(err: dict, key: str, source) -> CaseError | None:
    """The error of the Strict tables' own checks (true / false or a quoted number for a
    number, a number for a boolean), named by ``source`` and the key path; None for others."""
    kind = err["type"]
    if kind not in ("bool_not_number", "string_not_number", "number_not_bool"):
        return None
    prefix = f"{key}." if key else ""
    if kind == "bool_not_number":
        expected = err["ctx"].get("expected", "a number")
        return CaseError(source, prefix + err["ctx"]["key"], f"found {err['ctx']['value']}",
                         f"{expected} (true / false are not {err['ctx'].get('noun', 'numbers')})")
    if kind == "string_not_number":
        expected = err["ctx"].get("expected", "a number")
        unquoted = err["ctx"]["value"][1:-1]
        return CaseError(source, prefix + err["ctx"]["key"], f"found {err['ctx']['value']} (a string)",
                         expected + (f" (write {unquoted} without quotes)" if err["ctx"].get("number") else ""))
    if kind == "number_not_bool":
        return CaseError(source, prefix + err["ctx"]["key"], f"found {err['ctx']['value']}", "true | false")
    return None


def _explain(exc: ValidationError, schema: type[BaseModel], data: dict, path: Path | None) -> CaseError:
    errors = exc.errors()
    # a misspelt key also shows up as a missing one: report the misspelling
    err = next((e for e in errors if e["type"] == "extra_forbidden"), errors[0])
    tags = [i for i, p in enumerate(err["loc"]) if _is_type_tag(p)]
    if tags:  # a plain (undiscriminated) union: report the branch that got furthest
        head = err["loc"][: tags[0]]
        branch = [e for e in errors if e["loc"][: tags[0]] == head and len(e["loc"]) > tags[0]
                  and _is_type_tag(e["loc"][tags[0]])]
        err = max(branch, key=lambda e: len(e["loc"]))
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-after"))
                and not _is_type_tag(p))
    # pydantic inserts the tag of a discriminated union into loc ('mesh', 'rectangle', ...)
    clean: list[Any] = []
    node: Any = data
    for i, part in enumerate(loc):
        is_last_key = i == len(loc) - 1 and err["type"] in ("extra_forbidden", "missing")
        if isinstance(node, dict) and isinstance(part, str) and part not in node and not is_last_key:
            if part in [v for v in node.values() if isinstance(v, str)]:
                continue
        clean.append(part)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
    key = _join(clean)
    kind = err["type"]
    if kind == "renamed_key":  # a former key name: say the new one
        prefix = f"{key}." if key else ""
        return CaseError(path, prefix + err["ctx"]["old"], f"found '{err['ctx']['old']}', a renamed key",
                         f"{prefix}{err['ctx']['new']} (its new name)")
    custom = _scalar_kind_error(err, key, path)
    if custom is not None:
        return custom
    if kind == "extra_forbidden":
        parent = _model_at(schema, data, tuple(clean[:-1]))
        valid = sorted(parent.model_fields) if parent else []
        bad = str(clean[-1])
        close = difflib.get_close_matches(bad, valid, n=1, cutoff=0.5)
        hint = f"did you mean '{close[0]}'? " if close else ""
        return CaseError(path, key, f"unknown key '{bad}'", hint + "valid keys: " + ", ".join(valid))
    if kind == "missing":
        return CaseError(path, key, "missing required key")
    if kind == "union_tag_invalid":
        tag_name = err["ctx"]["discriminator"].strip(chr(39))
        tag = node.get(tag_name, err["ctx"]["tag"]) if isinstance(node, dict) else err["ctx"]["tag"]  # as written (pydantic: str)
        return CaseError(path, f"{key}.{tag_name}" if key else key,
                         f"found {_toml_text(tag)}", err["ctx"]["expected_tags"].replace("'", "").replace(", ", " | "))
    if kind == "union_tag_not_found":
        return CaseError(path, f"{key}.{err['ctx']['discriminator'].strip(chr(39))}", "missing required key")
    found = err.get("input")
    if kind == "value_error" and isinstance(found, dict):  # a check across keys of one table
        return CaseError(path, key, _allowed_text(err["msg"]))
    found_text = f"found {_toml_text(found)}" if not isinstance(found, dict) else "found a table"
    return CaseError(path, key, found_text, _allowed_text(err["msg"]))
