import wholechild  # noqa: F401  (its warning filter precedes pandera's import)
