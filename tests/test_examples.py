"""The examples a new user runs first keep working."""
import importlib.util
import pathlib

import pytest

import matcalc

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
WRT = {"seed_000_backprop.mc": "W", "seed_001_two_layer_network.mc": ["A0", "b0", "A1", "b1"],
       "seed_001_least_squares.mc": "θ", "seed_001_scalar.mc": "x", "seed_002_row_vectors.mc": "x"}


@pytest.mark.parametrize("name", sorted(WRT))
def test_example_program_derives_and_checks(name):
    d = matcalc.derive((EXAMPLES / name).read_text(encoding="utf-8"), WRT[name])
    assert d.check().passed


def test_every_example_program_is_covered():
    assert {p.name for p in EXAMPLES.glob("*.mc")} == set(WRT)


def test_training_with_a_generated_gradient_lowers_the_loss():
    spec = importlib.util.spec_from_file_location("train_network", EXAMPLES / "train_network.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    history = module.main(epochs=4, verbose=False)
    assert history[-1] < 0.5 * history[0]
