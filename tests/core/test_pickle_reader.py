"""The opcode walker: its fast path reads exactly what the pickletools path reads."""

from __future__ import annotations

import glob
import json
import math
import pickle
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from ckpt_tui.core import pickle_reader as pr
from tests.conftest import RAY_RUNS


def norm(o):
    if isinstance(o, pr._Object):
        return ("O", o.cls.module, o.cls.name, norm(list(o.args)), norm(o.state))
    if isinstance(o, pr._Global):
        return ("G", o.module, o.name)
    if isinstance(o, dict):
        return ("d", sorted((repr(k), norm(v)) for k, v in o.items()))
    if isinstance(o, (list, tuple)):
        return (type(o).__name__, [norm(x) for x in o])
    if isinstance(o, float) and math.isnan(o):
        return "nan"
    return (type(o).__name__, o)


def test_fast_path_equals_pickletools_on_every_real_ray_pickle():
    count = 0
    for path in glob.glob(str(RAY_RUNS / "**" / "experiment_state-*.json"), recursive=True):
        state = json.loads(Path(path).read_text())
        for item in state["trial_data"]:
            packed = json.loads(item[1]).get("checkpoint_manager")
            if isinstance(packed, dict):
                blob = bytes.fromhex(packed["value"])
                assert norm(pr._read_plain_fast(blob)) == norm(pr._read_plain_genops(blob))
                count += 1
    assert count >= 40


plain = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(), st.binary(max_size=300)),
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.tuples(children, children),
        st.dictionaries(st.text(max_size=5), children, max_size=5),
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=plain, protocol=st.integers(0, 5))
def test_read_plain_equals_pickletools_path(value, protocol):
    data = pickle.dumps(value, protocol=protocol)
    assert norm(pr.read_plain(data)) == norm(pr._read_plain_genops(data))


@settings(max_examples=200, deadline=None)
@given(value=plain, cut=st.integers(0, 400))
def test_truncated_pickles_fail_cleanly(value, cut):
    data = pickle.dumps(value, protocol=5)[:cut]
    try:
        pr.read_plain(data)
    except (pr.PickleShapeError, ValueError, IndexError, KeyError, TypeError, AttributeError):
        pass
    assert pr.read_checkpoint_manager(data) is None  # not a manager, and never raises
