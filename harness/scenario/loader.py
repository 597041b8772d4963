"""Loading scenario files: YAML in, typed scenarios out, or an error naming the file, the line
and a hint ("unknown step 'sing_in'; did you mean 'sign_in'?")."""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError

from harness.scenario.model import (
    STEP_MODELS,
    STEP_SHORTHAND,
    Scenario,
    ScenarioRun,
    Step,
    mapping_keys,
)
from harness.scenario.references import DanglingReferenceError, check_references

MAX_FILE_BYTES = 256 * 1024


class ScenarioError(Exception):
    """A scenario file that cannot run: its path, line and what to do about it."""

    def __init__(self, path: str, line: int, message: str, hint: str = "") -> None:
        self.path, self.line, self.message, self.hint = path, line, message, hint
        text = f"{path}:{line}: {message}" if line else f"{path}: {message}"
        super().__init__(f"{text} ({hint})" if hint else text)


@dataclass(frozen=True)
class _Located:
    """A YAML value with the line each part of it starts on."""

    value: Any
    line: int
    children: Any  # dict[key, _Located] | list[_Located] | None


_PLAIN_TAGS = {
    f"tag:yaml.org,2002:{t}" for t in ("map", "seq", "str", "int", "float", "bool", "null")
}


def _locate(node: yaml.Node) -> _Located:
    line = node.start_mark.line + 1
    if node.tag not in _PLAIN_TAGS:
        # A scenario is data: no YAML tags (python objects, timestamps, binary) at all.
        raise ScenarioError("", line, f"the YAML tag {node.tag} is not allowed in a scenario")
    if isinstance(node, yaml.MappingNode):
        children = {}
        for key_node, value_node in node.value:
            key = key_node.value
            if key in children:
                raise ScenarioError("", key_node.start_mark.line + 1, f"'{key}' is given twice")
            children[key] = _locate(value_node)
        return _Located({k: v.value for k, v in children.items()}, line, children)
    if isinstance(node, yaml.SequenceNode):
        items = [_locate(n) for n in node.value]
        return _Located([i.value for i in items], line, items)
    return _Located(_scalar(node), line, None)


def _scalar(node: yaml.Node) -> Any:
    loader = yaml.SafeLoader("")
    try:
        return loader.construct_object(node, deep=True)
    finally:
        loader.dispose()


def _hint(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1)
    if close:
        return f"did you mean '{close[0]}'?"
    return "expected one of: " + ", ".join(sorted(choices))


def _line_of(located: _Located, loc: tuple[Any, ...]) -> int:
    node = located
    for part in loc:
        children = node.children
        in_mapping = isinstance(children, dict) and part in children
        in_list = isinstance(children, list) and isinstance(part, int) and part < len(children)
        if not (in_mapping or in_list):
            break
        node = children[part]
    return node.line


def _validation_error(
    path: str, located: _Located, error: ValidationError, model: type[BaseModel]
) -> ScenarioError:
    first = error.errors()[0]
    loc = tuple(first["loc"])
    line = _line_of(located, loc)
    where = ".".join(str(p) for p in loc)
    if first["type"] == "extra_forbidden":
        field = str(loc[-1])
        return ScenarioError(
            path, line, f"unknown field '{where}'", _hint(field, _fields(model, loc[:-1]))
        )
    message = first["msg"].removeprefix("Value error, ")
    return ScenarioError(path, line, f"{where}: {message}" if where else message)


def _fields(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names allowed at ``loc`` inside ``model`` (best effort, for hints)."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        info = getattr(current, "model_fields", {}).get(part)
        if info is None:
            return list(getattr(current, "model_fields", {}))
        annotation = info.annotation
        for candidate in getattr(annotation, "__args__", (annotation,)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                current = candidate
                break
    fields = getattr(current, "model_fields", {})
    return [info.alias or name for name, info in fields.items()]


def _step(path: str, item: _Located) -> list[Step]:
    if not isinstance(item.value, dict) or len(item.value) != 1:
        raise ScenarioError(
            path, item.line, "a step is a mapping with one key", "e.g. '- sign_in: dana'"
        )
    ((kind, raw),) = item.value.items()
    if kind not in STEP_MODELS:
        raise ScenarioError(
            path, item.line, f"unknown step '{kind}'", _hint(kind, list(STEP_MODELS))
        )
    model = STEP_MODELS[kind]
    located = item.children[kind]
    values = raw if kind == "expect" and isinstance(raw, list) else [raw]
    nodes = located.children if kind == "expect" and isinstance(raw, list) else [located]
    steps = []
    for given, node in zip(values, nodes, strict=True):
        value = given
        if not isinstance(given, dict):
            shorthand = STEP_SHORTHAND.get(kind)
            if shorthand is None:
                raise ScenarioError(
                    path, node.line, f"'{kind}' takes a mapping {mapping_keys(model)}"
                )
            value = {shorthand: given}
        try:
            parsed = model.model_validate(value)
        except ValidationError as exc:
            raise _validation_error(path, node, exc, model) from None
        steps.append(Step(kind=kind, value=parsed, line=node.line))
    return steps


def parse_step(kind: str, value: Any) -> Step:
    """One step from its keyword and value, as a scenario file would hold it (the lifecycle
    property suite builds its steps this way, so a shrunk sequence is a scenario file)."""
    return _step("<generated>", _Located({kind: value}, 0, {kind: _Located(value, 0, None)}))[0]


def load_scenario(path: Path) -> Scenario:
    shown = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(shown, 0, f"cannot read the file: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError(shown, 0, f"the file is larger than {MAX_FILE_BYTES} bytes")
    try:
        node = yaml.compose(raw.decode("utf-8"), Loader=yaml.SafeLoader)
    except UnicodeDecodeError:
        raise ScenarioError(shown, 0, "the file is not UTF-8") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 0
        problem = getattr(exc, "problem", None) or str(exc)
        raise ScenarioError(shown, line, f"not valid YAML: {problem}") from None
    if node is None:
        raise ScenarioError(shown, 0, "the file is empty")
    try:
        located = _locate(node)
    except ScenarioError as exc:
        raise ScenarioError(shown, exc.line, exc.message, exc.hint) from None
    if not isinstance(located.value, dict):
        raise ScenarioError(shown, located.line, "a scenario is a mapping (title, given, steps)")
    document = dict(located.value)
    step_items = located.children.get("steps")
    if step_items is None and "property" in document:
        step_items = _Located([], located.line, [])
    if step_items is None or not isinstance(step_items.value, list):
        raise ScenarioError(shown, located.line, "a scenario needs a list of 'steps'")
    document["steps"] = [s for item in step_items.children for s in _step(shown, item)]
    try:
        scenario = Scenario.model_validate(document)
    except ValidationError as exc:
        raise _validation_error(shown, located, exc, Scenario) from None
    try:
        check_references(scenario)
    except DanglingReferenceError as exc:
        raise ScenarioError(shown, exc.line, exc.message, exc.hint) from None
    return scenario


def expand(suite: str, path: Path, scenario: Scenario) -> list[ScenarioRun]:
    """One run per combination of the scenario's parameters."""
    combos = itertools.product(
        scenario.dialects or ("rfc",),
        scenario.presets or ("generic",),
        scenario.name_id_formats or ("emailAddress",),
    )
    return [
        ScenarioRun(
            suite=suite,
            path=path.as_posix(),
            scenario=scenario,
            dialect=dialect,
            preset=preset,
            name_id_format=name_id_format,
        )
        for dialect, preset, name_id_format in combos
    ]


def discover(paths: list[Path]) -> list[ScenarioRun]:
    """Scenario runs for files and suite folders (a suite is a folder of *.yaml files; a
    folder of suites is every suite in it), in a stable order."""
    runs: list[ScenarioRun] = []
    for path in paths:
        if path.is_file():
            runs += expand(path.parent.name, path, load_scenario(path))
        elif path.is_dir():
            files = sorted(path.glob("*.yaml"))
            if files:
                for file in files:
                    runs += expand(path.name, file, load_scenario(file))
            else:
                for suite in sorted(p for p in path.iterdir() if p.is_dir()):
                    for file in sorted(suite.glob("*.yaml")):
                        runs += expand(suite.name, file, load_scenario(file))
        else:
            raise ScenarioError(str(path), 0, "no such file or folder")
    return runs
