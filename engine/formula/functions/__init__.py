"""The built-in formula functions, one module per category, all registered in `FUNCTIONS`."""

from engine.formula.functions import arrays, dates, logic, numeric, records, text
from engine.formula.registry import FUNCTIONS, FunctionSpec

__all__ = ["FUNCTIONS", "FunctionSpec", "arrays", "dates", "logic", "numeric", "records", "text"]
