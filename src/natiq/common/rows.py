"""Reading line-based JSON files row by row, strictly or leniently, with ``file:line`` reasons.

Every natiq format that holds one record per line (utterance manifests,
ChatML samples, batch texts) is read through ``parse_rows`` with a function
that turns one JSON object into one record. The reader owns what is the same
for all of them: blank lines, invalid JSON, a line that is not an object, a
partial last line left by a crash, duplicate ids, and where each problem is.

- strict (``lenient=False``): the first bad row raises its error, prefixed
  with ``file:line`` (a ``DataFormatError`` unless the row function raised
  another ``NatiqError`` subclass, which keeps its class);
- lenient: bad rows are collected in ``Rows.bad`` and the good ones returned,
  so a batch job reports them and goes on.

A row function raises ``DataFormatError`` (or ``pydantic.ValidationError``,
worded by ``describe_validation_error``) with a message that does not repeat
the location. This module knows no format.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from natiq.common.errors import DataFormatError, NatiqError

if TYPE_CHECKING:
    from pydantic import ValidationError

T = TypeVar("T")

# (JSON object, 1-based line number) -> record
RowParser = Callable[[dict[str, Any], int], T]


@dataclass(frozen=True)
class BadRow:
    """A row that could not be read: where it is, its id if it had one, and why."""

    source: str
    line: int
    id: str | None
    error: str  # the exception class, e.g. "DataFormatError"
    reason: str  # without the location

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"

    @property
    def message(self) -> str:
        """``file:line: reason``, what strict mode raises."""
        return f"{self.where}: {self.reason}"


class Rows(list[T], Generic[T]):
    """The good rows in file order; ``bad`` lists the rows a lenient read left out."""

    def __init__(self, rows: Iterable[T] = (), bad: Iterable[BadRow] = ()) -> None:
        super().__init__(rows)
        self.bad: list[BadRow] = list(bad)


def describe_validation_error(error: ValidationError) -> str:
    """One line a user can act on: missing fields first, then each bad field and why."""
    missing: list[str] = []
    problems: list[str] = []
    for item in error.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or "the row"
        if item["type"] == "missing":
            missing.append(name)
        elif item["type"] == "extra_forbidden":
            problems.append(f"unknown field '{name}'")
        else:
            message = str(item["msg"]).removeprefix("Value error, ")
            problems.append(f"'{name}': {message}" if item["loc"] else message)
    if missing:
        problems.insert(0, f"missing field(s) {', '.join(missing)}")
    return "; ".join(problems)


def _id_of(record: Any) -> str | None:
    value = record.get("id") if isinstance(record, dict) else None
    return value if isinstance(value, str) else None


def _relocated(exc: NatiqError, message: str) -> NatiqError:
    """The same kind of error, its message prefixed with the location."""
    try:
        return type(exc)(message)
    except TypeError:  # a subclass with another constructor
        return DataFormatError(message)


def parse_rows(
    lines: Iterable[str],
    parse: RowParser[T],
    *,
    source: str,
    lenient: bool = False,
    key: Callable[[T], str | None] | None = None,
    skip_partial_last_line: bool = False,
) -> Rows[T]:
    """Parse JSON lines with ``parse``; ``source`` names them in every reason.

    ``key`` gives a row's id for the duplicate check (``None``: not checked;
    a row whose key is ``None`` is never a duplicate). With
    ``skip_partial_last_line`` a final line without a newline that does not
    parse (a write cut off by a crash) is ignored.
    """
    from pydantic import ValidationError

    rows: Rows[T] = Rows()
    seen: dict[str, int] = {}
    numbered = list(enumerate(lines, start=1))
    for number, line in numbered:
        if not line.strip():
            continue
        record: Any = None
        try:
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                if skip_partial_last_line and number == len(numbered) and not line.endswith("\n"):
                    break
                raise DataFormatError(f"invalid JSON ({exc.msg})") from None
            if not isinstance(record, dict):
                raise DataFormatError(f"expected a JSON object, got {type(record).__name__}")
            try:
                row = parse(record, number)
            except ValidationError as exc:
                raise DataFormatError(describe_validation_error(exc)) from None
            row_key = key(row) if key is not None else None
            if row_key is not None and row_key in seen:
                raise DataFormatError(f"duplicate id {row_key!r} (first on line {seen[row_key]})")
        except NatiqError as exc:
            bad = BadRow(source, number, _id_of(record), type(exc).__name__, str(exc))
            if not lenient:
                raise _relocated(exc, bad.message) from None
            rows.bad.append(bad)
            continue
        if row_key is not None:
            seen[row_key] = number
        rows.append(row)
    return rows


def read_rows(
    path: str | os.PathLike[str],
    parse: RowParser[T],
    *,
    lenient: bool = False,
    key: Callable[[T], str | None] | None = None,
    skip_partial_last_line: bool = False,
) -> Rows[T]:
    """``parse_rows`` over a UTF-8 file; a missing or undecodable file is a ``DataFormatError``."""
    source = Path(path)
    if not source.is_file():
        raise DataFormatError(f"{source}: no such file")
    try:
        with open(source, encoding="utf-8") as handle:
            lines = handle.readlines()
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"{source}: not UTF-8 text ({exc.reason})") from None
    return parse_rows(
        lines,
        parse,
        source=str(source),
        lenient=lenient,
        key=key,
        skip_partial_last_line=skip_partial_last_line,
    )
