"""Event search: socapp's query language, parsed and compiled to PostgreSQL."""

from .query import Comparison, FreeText, Node, Not, Op, QueryError, parse
from .sql import compile_query, uses_an_index

__all__ = [
    "Comparison",
    "FreeText",
    "Node",
    "Not",
    "Op",
    "QueryError",
    "compile_query",
    "parse",
    "uses_an_index",
]
