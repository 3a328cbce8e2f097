"""Reading ticket exports into the canonical table, and writing tables safely."""

from gaopin.io.load import LoadResult, Problem, SourceInfo, load

__all__ = ["LoadResult", "Problem", "SourceInfo", "load"]
