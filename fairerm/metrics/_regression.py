"""Regression fairness metrics (filled in by the fair-regression work of issue 6)."""

__all__: list[str] = []
