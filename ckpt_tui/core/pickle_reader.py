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


# ---- Tune's per-trial checkpoint manager --------------------------------------------------

_MANAGER_NAMES = {"_CheckpointManager"}
_NUMPY_SCALAR = {("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar")}


@dataclass
class RegisteredCheckpoint:
    """One checkpoint a Tune trial's checkpoint manager holds: where it is and its report."""

    path: str  # as Ray recorded it (a local path or a URI); its last two parts name trial dir and checkpoint
    metrics: dict

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def trial_dir(self) -> str:
        parts = self.path.rstrip("/").rsplit("/", 2)
        return parts[-2] if len(parts) >= 2 else ""


@dataclass
class ManagerState:
    """What Ray's ``_CheckpointManager`` of one trial registered and still tracks: its list
    (Ray's order: worst first) and its latest checkpoint (which after a PBT exploit can live in
    another trial's directory)."""

    registered: list  # RegisteredCheckpoint, Ray's list order
    latest: Optional[RegisteredCheckpoint]
    config: Optional[CheckpointConfig]


def _plain_value(value: Any) -> Any:
    """A metric value as plain Python: numpy scalars decoded from their bytes (never by
    importing numpy), other objects as a string naming their class."""
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain_value(v) for v in value]
    if isinstance(value, _Object):
        if (value.cls.module, value.cls.name) in _NUMPY_SCALAR and len(value.args) == 2 \
                and isinstance(value.args[1], (bytes, str)):
            decoded = _numpy_scalar(value.args[0], value.args[1])
            if decoded is not None:
                return decoded
        return f"<{value.cls.module}.{value.cls.name}>"
    if isinstance(value, _Global):
        return f"<{value.module}.{value.name}>"
    return value


def _numpy_scalar(dtype: Any, raw: Any) -> Any:
    import struct

    if not isinstance(dtype, _Object) or not dtype.args or not isinstance(dtype.args[0], str):
        return None
    code = dtype.args[0]
    endian = ">" if isinstance(dtype.state, tuple) and len(dtype.state) > 1 and dtype.state[1] == ">" else "<"
    if isinstance(raw, str):
        raw = raw.encode("latin-1")
    fmt = {"f8": "d", "f4": "f", "f2": "e", "i8": "q", "i4": "i", "i2": "h", "i1": "b",
           "u8": "Q", "u4": "I", "u2": "H", "u1": "B", "b1": "?"}.get(code)
    if fmt is None:
        return None
    try:
        (out,) = struct.unpack(endian + fmt, raw)
    except struct.error:
        return None
    return out


def _registered(obj: Any) -> Optional[RegisteredCheckpoint]:
    if not isinstance(obj, _Object) or not isinstance(obj.state, dict):
        return None
    ckpt = obj.state.get("checkpoint")
    if not isinstance(ckpt, _Object) or not isinstance(ckpt.state, dict):
        return None
    path = ckpt.state.get("path")
    metrics = obj.state.get("metrics")
    if not isinstance(path, str) or not path:
        return None
    return RegisteredCheckpoint(path, _plain_value(metrics) if isinstance(metrics, dict) else {})


def read_checkpoint_manager(data: bytes) -> Optional[ManagerState]:
    """A Tune trial's checkpoint manager, read opcode by opcode (nothing is executed), or None
    when the pickle is not one this reader can interpret."""
    try:
        obj = read_plain(data)
    except (PickleShapeError, ValueError, IndexError, KeyError, TypeError, AttributeError):
        return None
    if not isinstance(obj, _Object) or obj.cls.name not in _MANAGER_NAMES or not isinstance(obj.state, dict):
        return None
    state = obj.state
    items = state.get("_checkpoint_results")
    if not isinstance(items, list):
        return None
    registered = []
    for item in items:
        found = _registered(item)
        if found is None:
            return None  # a shape we do not know: no authority rather than a wrong one
        registered.append(found)
    latest_obj = state.get("_latest_checkpoint_result")
    latest = _registered(latest_obj) if latest_obj is not None else None
    if latest_obj is not None and latest is None:
        return None
    config = None
    cfg = state.get("_checkpoint_config")
    if isinstance(cfg, _Object) and (cfg.cls.module, cfg.cls.name) in _CONFIG_GLOBALS:
        cstate = cfg.state[0] if isinstance(cfg.state, tuple) and cfg.state and isinstance(cfg.state[0], dict) \
            else cfg.state
        if isinstance(cstate, dict):
            try:
                config = CheckpointConfig.from_dict(cstate)
            except (ConfigError, TypeError):
                config = None
    return ManagerState(registered, latest, config)
