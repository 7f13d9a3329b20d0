"""Reading measurement tables (CSV with a header row) and saying clearly what is wrong with them."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autoalign.errors import DataError

#: Tables bigger than this are refused before reading (the search samples rows anyway).
MAX_BYTES = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Table:
    names: list[str]
    values: np.ndarray  # (rows, columns), float

    def column(self, name: str) -> np.ndarray:
        return self.values[:, self.index(name)]

    def index(self, name: str) -> int:
        try:
            return self.names.index(name)
        except ValueError:
            raise DataError(f"no column {name!r}; the columns are {', '.join(self.names)}") from None

    def without(self, name: str) -> Table:
        keep = [i for i, n in enumerate(self.names) if n != name]
        return Table([self.names[i] for i in keep], self.values[:, keep])


def read_csv(path: Path) -> Table:
    """A numeric table. Text cells, ragged rows and missing headers are errors naming the spot;
    NaN and infinite values are kept here and refused (or handled) by whoever uses the table."""
    if not path.is_file():
        raise DataError(f"{path} does not exist")
    if path.stat().st_size > MAX_BYTES:
        raise DataError(f"{path} is over {MAX_BYTES / 1e9:.0f} GB; sample its rows first")
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except UnicodeDecodeError:
        raise DataError(f"{path} is not UTF-8 text (is it a CSV file?)") from None
    except csv.Error as exc:
        raise DataError(f"{path} is not readable CSV: {exc}") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise DataError(f"{path} is empty or has no header row")
    names = [cell.strip() for cell in rows[0]]
    if len(set(names)) != len(names) or not all(names):
        raise DataError(f"{path}: column names must be present and distinct, got {names}")
    body = [row for row in rows[1:] if any(cell.strip() for cell in row)]
    if not body:
        raise DataError(f"{path} has a header but no rows")
    values = np.empty((len(body), len(names)))
    for line, row in enumerate(body, start=2):
        if len(row) != len(names):
            raise DataError(f"{path}:{line}: {len(row)} cells for {len(names)} columns")
        for column, cell in enumerate(row):
            if not cell.strip():  # a dropout: kept as missing for whoever reads the table
                values[line - 2, column] = np.nan
                continue
            try:
                values[line - 2, column] = float(cell)
            except ValueError:
                raise DataError(
                    f"{path}:{line}: column {names[column]!r} holds text ({cell[:40]!r}); only numbers can be fitted"
                ) from None
    return Table(names, values)
