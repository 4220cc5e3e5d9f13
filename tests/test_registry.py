"""The model registry (parsnn.registry): every folder of models/ is found by name, declares its
options, build and sweep size, and gives its expected rates; unknown names are refused."""
import argparse
import os

import pytest

from parsnn import registry
from parsnn.errors import ParameterError

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")


def test_every_model_folder_is_registered():
    folders = sorted(d for d in os.listdir(MODELS_DIR) if os.path.isfile(os.path.join(MODELS_DIR, d, "__init__.py")))
    assert registry.names() == folders
    for name in folders:
        assert registry.get(name).name == name


def test_unknown_model_names_the_known_ones():
    with pytest.raises(ParameterError, match="unknown model 'nope'; known: brunel, hpc_benchmark, multicolumn, pd14"):
        registry.get("nope")


@pytest.mark.parametrize("name", ["pd14", "brunel", "multicolumn"])
def test_options_build_the_network(name):
    spec = registry.get(name)
    parser = argparse.ArgumentParser()
    spec.add_arguments(parser.add_argument_group(name))
    args = parser.parse_args([spec.size_option, spec.size_value(spec.default_size)])
    args.resolution, args.no_record, args.record_v = 0.1, True, 0
    net = spec.from_args(args)
    net.validate()
    assert net.metadata["model"] == name and net.spike_recorder is None


def test_size_values():
    assert registry.get("multicolumn").size_value(9) == "3"
    with pytest.raises(ParameterError, match="square number of columns"):
        registry.get("multicolumn").size_value(8)
    with pytest.raises(ParameterError, match=r"n_scaling = size x ranks <= 1; got 1.5"):
        registry.get("pd14").size_value(1.5)


def test_expected_rates():
    # a network's own expected rates come first, then its model's, else none
    assert registry.expected_rates({"model": "pd14", "expected_rates": {"L4E": 1.0}}) == {"L4E": 1.0}
    assert registry.expected_rates({"model": "pd14"})["L5E"] == pytest.approx(7.569)
    assert registry.expected_rates({"model": "unknown"}) == {} and registry.expected_rates(None) == {}
    rates = registry.expected_rates({"model": "brunel", "regime": "C", "scale": 0.1})
    assert rates["E"] == rates["I"] == pytest.approx(85.8, abs=0.1)      # Brunel's mean-field rate


def test_no_library_module_imports_a_model_and_no_model_imports_the_cli():
    import ast
    import pathlib
    root = pathlib.Path(MODELS_DIR).parent
    for path in root.joinpath("parsnn").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("parsnn.models"), path
                if node.module == "parsnn":
                    assert "models" not in {a.name for a in node.names}, path
    for path in root.joinpath("models").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("parsnn.cli"), path
