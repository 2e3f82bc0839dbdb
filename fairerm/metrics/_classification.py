"""Classification fairness metrics (filled in by the metrics work of issue 3)."""

__all__: list[str] = []
