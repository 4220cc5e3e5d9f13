"""`parsnn verify FILE` (parsnn.cli.verify): one line per check, exit 0 / 1 / 2."""
import h5py
import pytest
from mpi4py import MPI

from parsnn.cli import main
from parsnn.engine import Simulation


@pytest.fixture(scope="module")
def run_file(tmp_path_factory, mixed_network):
    path = tmp_path_factory.mktemp("cli_verify") / "mixed.h5"
    sim = Simulation(mixed_network(), seed=5, comm=MPI.COMM_SELF, out=str(path))
    sim.run(60.0)
    sim.finish()
    return path


def test_intact_file_exits_0(run_file, capsys):
    assert main(["verify", str(run_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith(f"{run_file}: all ") and out[-1].endswith(" checks passed")
    assert all(line.startswith("ok  ") for line in out[:-1])


def test_corrupted_file_exits_1_naming_the_dataset(run_file, tmp_path, capsys):
    path = tmp_path / "damaged.h5"
    path.write_bytes(run_file.read_bytes())
    with h5py.File(path, "r") as f:
        offset = f["spikes/I/node_ids"].id.get_chunk_info(0).byte_offset
    with open(path, "r+b") as raw:
        raw.seek(offset)
        byte = raw.read(1)[0]
        raw.seek(offset)
        raw.write(bytes([byte ^ 1]))
    assert main(["verify", str(path)]) == 1
    out = capsys.readouterr().out
    assert "FAIL  readable /spikes/I/node_ids: corrupted: checksum mismatch" in out
    assert "checks failed: readable /spikes/I/node_ids, spikes I" in out


def test_incomplete_file_exits_1(run_file, tmp_path, capsys):
    path = tmp_path / "incomplete.h5"
    path.write_bytes(run_file.read_bytes())
    with h5py.File(path, "r+") as f:
        f["parsnn"].attrs["complete"] = False
    assert main(["verify", str(path)]) == 1
    assert "FAIL  complete: complete=False" in capsys.readouterr().out


def test_missing_file_exits_2(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "none.h5")]) == 2
    assert "parsnn: error: verify: no such file:" in capsys.readouterr().err


def test_help_documents_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["verify", "--help"])
    assert "exit status: 0 every check passed; 1 a check failed" in " ".join(capsys.readouterr().out.split())
