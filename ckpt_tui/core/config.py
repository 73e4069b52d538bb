"""Ray's ``CheckpointConfig``: the same five public fields, defaults and validation."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

MAX = "max"
MIN = "min"


class ConfigError(ValueError):
    """A CheckpointConfig field has a value Ray would reject."""


@dataclass(frozen=True)
class CheckpointConfig:
    num_to_keep: Optional[int] = None
    checkpoint_score_attribute: Optional[str] = None
    checkpoint_score_order: str = MAX
    checkpoint_frequency: int = 0
    checkpoint_at_end: Optional[bool] = None

    def __post_init__(self) -> None:
        n = self.num_to_keep
        # bool is an int subclass; Ray's check would let True through as 1, we don't.
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
            raise ConfigError(f"num_to_keep must be None or an integer >= 1, got {n!r}")
        if self.checkpoint_score_order not in (MAX, MIN):
            raise ConfigError(f"checkpoint_score_order must be 'max' or 'min', got {self.checkpoint_score_order!r}")
        attr = self.checkpoint_score_attribute
        if attr is not None and not isinstance(attr, str):
            raise ConfigError(f"checkpoint_score_attribute must be a string or None, got {attr!r}")
        f = self.checkpoint_frequency
        if isinstance(f, bool) or not isinstance(f, int) or f < 0:
            raise ConfigError(f"checkpoint_frequency must be an integer >= 0, got {f!r}")
        e = self.checkpoint_at_end
        if e is not None and not isinstance(e, bool):
            raise ConfigError(f"checkpoint_at_end must be None or a bool, got {e!r}")

    def with_changes(self, **changes) -> CheckpointConfig:
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return {
            "num_to_keep": self.num_to_keep,
            "checkpoint_score_attribute": self.checkpoint_score_attribute,
            "checkpoint_score_order": self.checkpoint_score_order,
            "checkpoint_frequency": self.checkpoint_frequency,
            "checkpoint_at_end": self.checkpoint_at_end,
        }

    @classmethod
    def from_dict(cls, data: dict) -> CheckpointConfig:
        fields = cls().to_dict().keys()
        return cls(**{k: data[k] for k in fields if k in data})

    def to_python(self) -> str:
        """The line a user pastes into a training script; only non-default fields."""
        default = CheckpointConfig()
        parts = []
        for name, value in self.to_dict().items():
            if value != getattr(default, name):
                parts.append(f"{name}={_py_literal(value)}")
        return f"CheckpointConfig({', '.join(parts)})"


def _py_literal(value) -> str:
    if isinstance(value, str):
        # json.dumps gives a double-quoted, escaped string that is also valid Python.
        import json

        return json.dumps(value)
    return repr(value)


def parse_num_to_keep(text: str) -> Optional[int]:
    """Parse a user's ``--num-to-keep`` value: an integer >= 1, or ``none``/``all``."""
    t = text.strip().lower()
    if t in ("none", "all", ""):
        return None
    try:
        n = int(t)
    except ValueError:
        raise ConfigError(
            f"num_to_keep must be an integer >= 1, or 'all' (or 'none') to keep every checkpoint, got {text!r}"
        ) from None
    if n < 1:
        raise ConfigError(
            f"num_to_keep must be an integer >= 1, or 'all' (or 'none') to keep every checkpoint, got {text!r}"
        )
    return n
