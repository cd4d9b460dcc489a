"""Every setting of every group choice has a rule, and a wrong value is one clear line."""

import re
from pathlib import Path

import pytest

from ganlab.cli.common import CONF_DIR
from ganlab.cli.run_names import flat_config
from ganlab.cli.settings import check_values, rule_for
from ganlab.errors import ConfigError
from tests.conftest import TINY, compose_train, run_cli

CONF = Path(CONF_DIR)
GROUPS = ("model", "loss", "reg", "augment", "data", "trainer", "logger", "features", "metrics")


def compositions() -> list[list[str]]:
    """One override list per choice of every group, and per loss_model pair."""
    found = []
    for group in GROUPS:
        for path in sorted((CONF / group).glob("*.yaml")):
            choice = f"[{path.stem}]" if group in ("features", "metrics") else path.stem
            found.append([f"{group}={choice}"])
    for nested in ("model/likelihood", "model/generator", "data/degrade"):  # groups in groups
        model = {"model/likelihood": "vae", "model/generator": "pix2pix"}.get(nested, "pix2pix")
        for path in sorted((CONF / nested).glob("*.yaml")):
            found.append([f"model={model}", f"{nested}={path.stem}"])
    for path in sorted((CONF / "loss_model").glob("*.yaml")):
        loss, _, model = path.stem.rpartition("_")
        loss, model = (loss, model) if (CONF / "loss" / f"{loss}.yaml").exists() else (None, None)
        if loss:
            found.append([f"loss={loss}", f"model={model}"])
    return found


WRONG_TYPES = ("abc", [1, 2], 1.5)


def test_every_leaf_has_a_rule_and_every_bad_value_is_refused(tmp_path):
    tried, refused, allowed = set(), 0, set()
    for overrides in compositions():
        if any(o.startswith("data=") and "folder" in o for o in overrides):
            overrides = [*overrides, "data.root=images"]
        flat = flat_config(compose_train(tmp_path / "run", overrides))
        leaves = {  # an empty node (logger=csv: nothing but metrics.csv) is not a setting
            k: v for k, v in flat.items() if not k.rsplit(".", 1)[-1].startswith("_") and v != {}
        }
        uncovered = sorted(k for k in leaves if rule_for(k) is None)
        assert not uncovered, f"{overrides}: settings without a rule in cli/settings.py"
        check_values(flat)  # the shipped values pass
        for key, value in leaves.items():
            rule = rule_for(key)
            wrong = next((w for w in WRONG_TYPES if not rule.accepts(w)), None)
            assert wrong is not None, f"{key}: its rule accepts anything"
            bad = [wrong]
            if rule.accepts(1) or rule.accepts(1.0):  # a number: zero and negative too
                bad += [v for v in (0, -1) if not rule.accepts(v)]
                allowed |= {(key, v) for v in (0, -1) if rule.accepts(v)}
            for value in bad:
                with pytest.raises(ConfigError) as err:
                    check_values({**flat, key: value})
                assert str(err.value) == f"{key}={value!r}: {key} must be {rule.describe()}."
                if (key, repr(value)) not in tried:
                    tried.add((key, repr(value)))
                    refused += 1
    # the pairs tried (the closing note of the issue gives this count), and what stays legal
    print(
        f"\n{refused} (key, bad value) pairs refused; zero or negative allowed: {sorted(allowed)}"
    )
    assert refused > 300
    assert ("callbacks.evaluation.every_n_iters", 0) in allowed  # 0: only after the last
    assert ("trainer.max_epochs", -1) in allowed and (
        "callbacks.checkpoint.save_top_k",
        -1,
    ) in allowed
    assert ("model.n_critic", 0) not in allowed and ("max_iters", -1) not in allowed


@pytest.mark.parametrize(
    "override,expected",
    [
        ("max_iters=-5", "max_iters=-5: max_iters must be an integer >= 1 or null."),
        (
            "model.g_optimizer.lr=fast",
            "model.g_optimizer.lr='fast': model.g_optimizer.lr must be a number > 0.",
        ),
        (
            "model.generator.nz=0",
            "model.generator.nz=0: model.generator.nz must be an integer >= 1.",
        ),
        ("augment=ada augment.target=1.5", "augment.target must be a number > 0 and < 1."),
    ],
)
def test_a_bad_value_is_one_line_before_any_data(tmp_path, override, expected):
    res = run_cli(
        "train",
        *TINY,
        *override.split(),
        "data.root=nowhere",
        f"hydra.run.dir={tmp_path}/r",
        cwd=tmp_path,
    )
    assert res.returncode == 1
    assert res.stderr.strip().splitlines()[-1] == f"ganlab: error: {expected}" or re.search(
        re.escape(expected), res.stderr
    )
    assert "Traceback" not in res.stderr and not (tmp_path / "nowhere").exists()
