"""Case files: TOML validated by pydantic, with --set overrides."""

from coupling.case.loader import Case, load_case, parse_overrides

__all__ = ["Case", "load_case", "parse_overrides"]
