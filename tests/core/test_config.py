import pytest

from ckpt_tui.core.config import CheckpointConfig, ConfigError, parse_num_to_keep


def test_defaults_match_ray():
    c = CheckpointConfig()
    assert c.num_to_keep is None
    assert c.checkpoint_score_attribute is None
    assert c.checkpoint_score_order == "max"
    assert c.checkpoint_frequency == 0
    assert c.checkpoint_at_end is None


@pytest.mark.parametrize("bad", [0, -1, True, False, 2.0, "3"])
def test_num_to_keep_rejected(bad):
    with pytest.raises(ConfigError) as e:
        CheckpointConfig(num_to_keep=bad)
    assert "num_to_keep" in str(e.value) and repr(bad) in str(e.value)


@pytest.mark.parametrize("bad", ["MAX", "Min", "", "maximum", None])
def test_order_must_be_exactly_max_or_min(bad):
    with pytest.raises(ConfigError) as e:
        CheckpointConfig(checkpoint_score_order=bad)
    assert "checkpoint_score_order" in str(e.value) and repr(bad) in str(e.value)


def test_negative_frequency_rejected():
    with pytest.raises(ConfigError, match=r"checkpoint_frequency.*-1"):
        CheckpointConfig(checkpoint_frequency=-1)


def test_python_line_shows_only_non_defaults():
    assert CheckpointConfig().to_python() == "CheckpointConfig()"
    c = CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")
    assert (
        c.to_python()
        == 'CheckpointConfig(num_to_keep=3, checkpoint_score_attribute="loss", checkpoint_score_order="min")'
    )


def test_python_line_is_valid_python_with_odd_attribute():
    c = CheckpointConfig(checkpoint_score_attribute='val "acc"\\x')
    ns = {"CheckpointConfig": CheckpointConfig}
    assert eval(c.to_python(), ns) == c


@pytest.mark.parametrize("text,value", [("3", 3), ("none", None), ("all", None), (" 12 ", 12)])
def test_parse_num_to_keep(text, value):
    assert parse_num_to_keep(text) == value


@pytest.mark.parametrize("text", ["0", "-2", "x", "1.5"])
def test_parse_num_to_keep_rejects(text):
    with pytest.raises(ConfigError, match="num_to_keep"):
        parse_num_to_keep(text)
