"""Read Ray's pickled ``CheckpointConfig`` without executing any pickle.

Tune cloudpickles its CheckpointConfig into ``experiment_state-*.json``. ``pickle.loads``
would run whatever code the file names, so this walks the opcodes with ``pickletools`` and
interprets only the handful that build plain values (strings, numbers, bools, None, dicts,
tuples, lists). A global is recorded by name, never imported.
"""

from __future__ import annotations

import pickletools
import struct
from dataclasses import dataclass
from typing import Any, Optional, cast

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


class _Unsupported(Exception):
    """An opcode the fast path leaves to the pickletools path."""


_I4 = struct.Struct("<i").unpack_from
_U4 = struct.Struct("<I").unpack_from
_U8 = struct.Struct("<Q").unpack_from
_F8 = struct.Struct(">d").unpack_from
_U2 = struct.Struct("<H").unpack_from


def read_plain(data: bytes) -> Any:
    """Interpret a pickle's opcodes into plain values and _Object shells. Executes nothing.

    The binary opcodes Ray's pickles use are decoded directly (a few times faster than
    ``pickletools.genops``: a run's experiment state holds a pickle per trial); a pickle with
    any other opcode is walked by ``pickletools`` instead, with the same interpretation."""
    try:
        return _read_plain_fast(data)
    except _Unsupported:
        return _read_plain_genops(data)
    except (struct.error, IndexError, UnicodeDecodeError) as exc:
        raise PickleShapeError(f"truncated or malformed pickle ({type(exc).__name__})") from None


def _read_plain_fast(data: bytes) -> Any:
    stack: list = []
    memo: dict[int, Any] = {}
    append = stack.append
    pos = 0
    end = len(data)

    def pop_mark() -> list:
        items: list = []
        while True:
            if not stack:
                raise PickleShapeError("MARK missing")
            item = stack.pop()
            if item is _MARK:
                return items[::-1]
            items.append(item)

    while pos < end:
        op = data[pos]
        pos += 1
        if op == 0x8C:  # SHORT_BINUNICODE
            n = data[pos]
            append(str(data[pos + 1 : pos + 1 + n], "utf-8", "surrogatepass"))
            if pos + 1 + n > end:
                raise IndexError
            pos += 1 + n
        elif op == 0x94:  # MEMOIZE
            memo[len(memo)] = stack[-1]
        elif op == 0x68:  # BINGET h
            append(memo[data[pos]])
            pos += 1
        elif op == 0x6A:  # LONG_BINGET j
            append(memo[_U4(data, pos)[0]])
            pos += 4
        elif op == 0x47:  # BINFLOAT G
            append(_F8(data, pos)[0])
            pos += 8
        elif op == 0x4B:  # BININT1 K
            append(data[pos])
            pos += 1
        elif op == 0x4D:  # BININT2 M
            append(_U2(data, pos)[0])
            pos += 2
        elif op == 0x4A:  # BININT J
            append(_I4(data, pos)[0])
            pos += 4
        elif op == 0x28:  # MARK (
            append(_MARK)
        elif op == 0x75:  # SETITEMS u
            items = pop_mark()
            target = stack[-1]
            if not isinstance(target, dict):
                raise PickleShapeError("SETITEMS on a non-dict")
            target.update(zip(items[::2], items[1::2]))
        elif op == 0x73:  # SETITEM s
            value = stack.pop()
            key = stack.pop()
            stack[-1][key] = value
        elif op == 0x7D:  # EMPTY_DICT }
            append({})
        elif op == 0x5D:  # EMPTY_LIST ]
            append([])
        elif op == 0x29:  # EMPTY_TUPLE )
            append(())
        elif op == 0x4E:  # NONE N
            append(None)
        elif op == 0x88:  # NEWTRUE
            append(True)
        elif op == 0x89:  # NEWFALSE
            append(False)
        elif op == 0x85 or op == 0x86 or op == 0x87:  # TUPLE1/2/3
            n = op - 0x84
            if len(stack) < n:
                raise IndexError
            tup = tuple(stack[-n:])
            del stack[-n:]
            append(tup)
        elif op == 0x74:  # TUPLE t
            append(tuple(pop_mark()))
        elif op == 0x64:  # DICT d
            items = pop_mark()
            append(dict(zip(items[::2], items[1::2])))
        elif op == 0x6C:  # LIST l
            append(pop_mark())
        elif op == 0x61:  # APPEND a
            value = stack.pop()
            stack[-1].append(value)
        elif op == 0x65:  # APPENDS e
            items = pop_mark()
            stack[-1].extend(items)
        elif op == 0x93:  # STACK_GLOBAL
            qual = stack.pop()
            module = stack.pop()
            append(_Global(str(module), str(qual)))
        elif op == 0x81 or op == 0x52:  # NEWOBJ, REDUCE R
            args = stack.pop()
            cls = stack.pop()
            if not isinstance(cls, _Global):
                raise PickleShapeError(f"{'NEWOBJ' if op == 0x81 else 'REDUCE'} on a non-class")
            append(_Object(cls, tuple(args) if isinstance(args, (tuple, list)) else (args,)))
        elif op == 0x62:  # BUILD b
            state = stack.pop()
            obj = stack[-1]
            if not isinstance(obj, _Object):
                raise PickleShapeError("BUILD on a non-object")
            obj.state = state
        elif op == 0x71:  # BINPUT q
            memo[data[pos]] = stack[-1]
            pos += 1
        elif op == 0x72:  # LONG_BINPUT r
            memo[_U4(data, pos)[0]] = stack[-1]
            pos += 4
        elif op == 0x58:  # BINUNICODE X
            n = _U4(data, pos)[0]
            if pos + 4 + n > end:
                raise IndexError
            append(str(data[pos + 4 : pos + 4 + n], "utf-8", "surrogatepass"))
            pos += 4 + n
        elif op == 0x43:  # SHORT_BINBYTES C
            n = data[pos]
            if pos + 1 + n > end:
                raise IndexError
            append(bytes(data[pos + 1 : pos + 1 + n]))
            pos += 1 + n
        elif op == 0x8A:  # LONG1
            n = data[pos]
            if pos + 1 + n > end:
                raise IndexError
            append(int.from_bytes(data[pos + 1 : pos + 1 + n], "little", signed=True))
            pos += 1 + n
        elif op == 0x80:  # PROTO
            pos += 1
        elif op == 0x95:  # FRAME
            pos += 8
        elif op == 0x2E:  # STOP .
            if len(stack) != 1:
                raise PickleShapeError("stack not empty at STOP")
            return stack[0]
        else:
            raise _Unsupported
    raise PickleShapeError("no STOP opcode")


def _read_plain_genops(data: bytes) -> Any:
    stack: list = []
    memo: dict[int, Any] = {}

    def pop_mark() -> list:
        items: list = []
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
        if name in (
            "SHORT_BINUNICODE",
            "BINUNICODE",
            "BINUNICODE8",
            "UNICODE",
            "BININT",
            "BININT1",
            "BININT2",
            "LONG1",
            "LONG4",
            "INT",
            "LONG",
            "BINFLOAT",
            "FLOAT",
            "SHORT_BINBYTES",
            "BINBYTES",
            "BINBYTES8",
            "SHORT_BINSTRING",
            "BINSTRING",
        ):
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
            memo[cast(int, arg)] = stack[-1]  # genops: an int for the memo opcodes
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            stack.append(memo[cast(int, arg)])
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
            tup = tuple(stack[-n:])
            del stack[-n:]
            stack.append(tup)
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
        if (
            (value.cls.module, value.cls.name) in _NUMPY_SCALAR
            and len(value.args) == 2
            and isinstance(value.args[1], (bytes, str))
        ):
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
    fmt = {
        "f8": "d",
        "f4": "f",
        "f2": "e",
        "i8": "q",
        "i4": "i",
        "i2": "h",
        "i1": "b",
        "u8": "Q",
        "u4": "I",
        "u2": "H",
        "u1": "B",
        "b1": "?",
    }.get(code)
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
        return _read_checkpoint_manager(data)
    except (RecursionError, PickleShapeError, ValueError, IndexError, KeyError, TypeError, AttributeError):
        return None  # e.g. metrics that contain themselves


def _read_checkpoint_manager(data: bytes) -> Optional[ManagerState]:
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
        cstate = (
            cfg.state[0] if isinstance(cfg.state, tuple) and cfg.state and isinstance(cfg.state[0], dict) else cfg.state
        )
        if isinstance(cstate, dict):
            try:
                config = CheckpointConfig.from_dict(cstate)
            except (ConfigError, TypeError):
                config = None
    return ManagerState(registered, latest, config)
