"""The shape of a row-level violation, shared by mapping and validation.

One row per (output row, rule, column): ``row`` is the position in the mapped table, the
rest say what broke in words a steward can act on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

VIOLATION_COLUMNS = ["row", "rule", "column_name", "value", "message"]


def empty_violations() -> pd.DataFrame:
    return pd.DataFrame(
        {c: pd.Series([], dtype="int64" if c == "row" else "string") for c in VIOLATION_COLUMNS}
    )


def violation_frame(rows, rule: str, column: str, values, messages) -> pd.DataFrame:
    """Violations of one rule on one column, for the given row positions."""
    return pd.DataFrame(
        {
            "row": np.asarray(rows, dtype="int64"),
            "rule": rule,
            "column_name": column,
            "value": pd.array([None if pd.isna(v) else str(v) for v in values], dtype="string"),
            "message": list(messages),
        }
    )
