"""parsnn.cli.source and parsnn.cli.common: models come from the registry, the one "model name or
run file" resolver of `parsnn predict/map`, and the converters the models' options use."""
import argparse
import ast
import pathlib

import pytest

from parsnn import registry
from parsnn.cli import build_parser
from parsnn.cli.source import resolve_source
from parsnn.connectivity import Connectivity
from parsnn.errors import ParameterError


def _predict_args(*argv):
    return build_parser().parse_args(["predict", *argv])


def test_model_choices_and_option_groups_come_from_the_registry():
    parser = build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]
    assert [a for a in run._actions if a.dest == "model"][0].choices == registry.names()
    assert {g.title for g in run._action_groups} >= set(registry.names())


def test_a_model_name_gives_the_connectivity_of_its_validated_network():
    args = _predict_args("pd14", "--n-scaling", "0.02")
    conn, run = resolve_source(args, read_run=None)
    assert run is None and args.model == "pd14" and conn.num_nodes == 1544
    assert isinstance(conn, Connectivity) and conn.description["name"] == "pd14"


def test_a_file_is_read_by_the_command_and_anything_else_lists_the_models(tmp_path):
    path = tmp_path / "run.h5"
    path.write_text("not a run")
    args = _predict_args(str(path))
    assert resolve_source(args, read_run=lambda p: {"read": p}) == (None, {"read": str(path)})

    def unreadable(p):
        raise OSError("bad file")
    with pytest.raises(ParameterError, match="is not a readable parsnn run file"):
        resolve_source(args, unreadable)
    with pytest.raises(ParameterError, match=r"source must be a model \(brunel, hpc_benchmark, multicolumn, pd14\)"):
        resolve_source(_predict_args("nest"), None)


def test_multicolumn_grid_is_a_positive_integer(capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args(["run", "multicolumn", "--grid", "0"])
    assert e.value.code == 2
    assert "--grid must be an integer >= 1, got 0" in capsys.readouterr().err
    assert build_parser().parse_args(["run", "multicolumn", "--grid", "3"]).grid == 3


def test_converter_messages():
    from parsnn.options import nonnegative, positive_int, seed
    for conv, text, message in ((positive_int("--n"), "x", "--n must be an integer >= 1, got 'x'"),
                                (nonnegative("--k", int), "-1", "--k must be >= 0, got -1"),
                                (seed, str(2**63), "--seed must be an integer in [0, 2^63), got 9223372036854775808")):
        with pytest.raises(argparse.ArgumentTypeError) as e:
            conv(text)
        assert str(e.value) == message


def test_no_cli_module_imports_a_model():
    for path in pathlib.Path(__file__).parent.parent.joinpath("parsnn", "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert not (node.module or "").startswith("parsnn.models"), path
            elif isinstance(node, ast.Import):
                assert not any(a.name.startswith("parsnn.models") for a in node.names), path
