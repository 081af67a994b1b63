"""The Airtable-compatible formula language: parse, evaluate, infer types, compile to SQL.

Words: a *formula* is text like `IF({amount} > 500, 'big', 'small')`; `parse` turns it into
a tree of nodes; `evaluate` computes its value for one record (`Env`); `infer_type` says
what kind of value it gives; `compile_sql` turns a filter formula into SQLite SQL when it
can. `FUNCTIONS` is the registry of built-in functions, and `docs/formulas.md` their
reference. Failures at run time are error values (`FormulaError`), never exceptions.
"""

from engine.formula.analysis import infer_type, references, uses_now
from engine.formula.env import Env
from engine.formula.errors import FormulaError, FormulaSyntaxError, NotCompilable
from engine.formula.evaluator import evaluate
from engine.formula.functions import FUNCTIONS
from engine.formula.nodes import Node, unparse
from engine.formula.parser import parse
from engine.formula.registry import FunctionSpec
from engine.formula.sql import Column, compile_sql
from engine.formula.values import display, truthy

__all__ = [
    "FUNCTIONS", "Column", "Env", "FormulaError", "FormulaSyntaxError", "FunctionSpec",
    "Node", "NotCompilable", "compile_sql", "display", "evaluate", "infer_type", "parse",
    "references", "truthy", "unparse", "uses_now",
]
