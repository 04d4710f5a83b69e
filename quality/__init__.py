"""Contract checks of deliveries: casting, row and file rules, violations and reports."""

import wholechild  # noqa: F401  (its warning filter precedes pandera's import)
