"""Read Ray's pickled ``CheckpointConfig`` without executing any pickle.

Tune cloudpickles its CheckpointConfig into ``experiment_state-*.json``. ``pickle.loads``
would run whatever code the file names, so this walks the opcodes with ``pickletools`` and
interprets only the handful that build plain values (strings, numbers, bools, None, dicts,
tuples, lists). A global is recorded by name, never imported.
"""

from __future__ import annotations

import pickletools
from dataclasses import dataclass
from typing import Any, Optional

from ckpt_tui.core.config import CheckpointConfig, ConfigError

_CONFIG_GLOBALS = {
    ("ray.tune", "CheckpointConfig"),
    ("ray.train", "CheckpointConfig"),
    ("ray.air.config", "CheckpointConfig"),
    ("ray.train._internal.config", "CheckpointConfig"),
    ("ray.air", "CheckpointConfig"),
}


class PickleShapeError(ValueError):
    """The pickle uses an opcode or shape this reader does not interpret."""


@dataclass
class _Global:
    module: str
    name: str


@dataclass
class _Object:
    cls: _Global
    args: tuple
    state: Any = None


class _Mark:
    pass


_MARK = _Mark()


def read_plain(data: bytes) -> Any:
    """Interpret a pickle's opcodes into plain values and _Object shells. Executes nothing."""
    stack: list = []
    memo: dict[int, Any] = {}

    def pop_mark() -> list:
        items = []
        while True:
            if not stack:
                raise PickleShapeError("MARK missing")
            item = stack.pop()
            if item is _MARK:
                return items[::-1]
            items.append(item)

    for op, arg, _pos in pickletools.genops(data):
        name = op.name
        if name in ("PROTO", "FRAME"):
            continue
        if name in ("SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
                    "BININT", "BININT1", "BININT2", "LONG1", "LONG4", "INT", "LONG",
                    "BINFLOAT", "FLOAT", "SHORT_BINBYTES", "BINBYTES", "BINBYTES8",
                    "SHORT_BINSTRING", "BINSTRING"):
            stack.append(arg)
        elif name == "NONE":
            stack.append(None)
        elif name == "NEWTRUE":
            stack.append(True)
        elif name == "NEWFALSE":
            stack.append(False)
        elif name == "MEMOIZE":
            memo[len(memo)] = stack[-1]
        elif name in ("BINPUT", "LONG_BINPUT", "PUT"):
            memo[arg] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo[arg])
        elif name == "MARK":
            stack.append(_MARK)
        elif name == "EMPTY_DICT":
            stack.append({})
        elif name == "EMPTY_LIST":
            stack.append([])
        elif name == "EMPTY_TUPLE":
            stack.append(())
        elif name == "TUPLE":
            stack.append(tuple(pop_mark()))
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            items = tuple(stack[-n:])
            del stack[-n:]
            stack.append(items)
        elif name == "DICT":
            items = pop_mark()
            stack.append(dict(zip(items[::2], items[1::2])))
        elif name == "LIST":
            stack.append(pop_mark())
        elif name == "SETITEM":
            value = stack.pop()
            key = stack.pop()
            stack[-1][key] = value
        elif name == "SETITEMS":
            items = pop_mark()
            target = stack[-1]
            if not isinstance(target, dict):
                raise PickleShapeError("SETITEMS on a non-dict")
            target.update(zip(items[::2], items[1::2]))
        elif name == "APPEND":
            value = stack.pop()
            stack[-1].append(value)
        elif name == "APPENDS":
            items = pop_mark()
            stack[-1].extend(items)
        elif name == "STACK_GLOBAL":
            qual = stack.pop()
            module = stack.pop()
            stack.append(_Global(str(module), str(qual)))
        elif name == "GLOBAL":
            module, _, qual = str(arg).partition(" ")
            stack.append(_Global(module, qual))
        elif name in ("NEWOBJ", "REDUCE"):
            args = stack.pop()
            cls = stack.pop()
            if not isinstance(cls, _Global):
                raise PickleShapeError(f"{name} on a non-class")
            stack.append(_Object(cls, tuple(args) if isinstance(args, (tuple, list)) else (args,)))
        elif name == "BUILD":
            state = stack.pop()
            obj = stack[-1]
            if not isinstance(obj, _Object):
                raise PickleShapeError("BUILD on a non-object")
            obj.state = state
        elif name == "STOP":
            if len(stack) != 1:
                raise PickleShapeError("stack not empty at STOP")
            return stack[0]
        else:
            raise PickleShapeError(f"opcode {name} not interpreted")
    raise PickleShapeError("no STOP opcode")


def read_checkpoint_config(data: bytes) -> Optional[CheckpointConfig]:
    """The CheckpointConfig in a Ray pickle, or None when it is not one we can read safely."""
    try:
        obj = read_plain(data)
    except (PickleShapeError, ValueError, IndexError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(obj, _Object) or (obj.cls.module, obj.cls.name) not in _CONFIG_GLOBALS:
        return None
    state = obj.state
    if isinstance(state, tuple) and len(state) == 2 and isinstance(state[0], dict):
        state = state[0]  # (dict_state, slots_state)
    if not isinstance(state, dict):
        return None
    try:
        return CheckpointConfig.from_dict(state)
    except (ConfigError, TypeError):
        return None
