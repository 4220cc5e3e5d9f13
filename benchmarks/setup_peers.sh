#!/usr/bin/env bash
# Make the venvs of the benchmark's peer simulators (git-ignored), next to this script:
#   benchmarks/.venv-brian2  Brian2 (cpp_standalone needs a C++ compiler; Brian2 needs numpy<2.4)
#   benchmarks/.venv-nest    NEST 3.10 (pip nest-simulator), unless the project's Python already imports nest
# Usage: bash benchmarks/setup_peers.sh [brian2] [nest]     (default: both; PYTHON=python3.11 to choose)
# bench_pd14.py finds them there (or give --brian2-python / --nest-python).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="${PYTHON:-python3}"
PEERS=("$@")
[ ${#PEERS[@]} -eq 0 ] && PEERS=(brian2 nest)

for peer in "${PEERS[@]}"; do
  case "$peer" in
    brian2)
      venv="$HERE/.venv-brian2"
      [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
      "$venv/bin/python" -m pip install -q "brian2>=2.7" "numpy<2.4"
      "$venv/bin/python" -c "import brian2; print('brian2', brian2.__version__, 'in', '$venv')"
      command -v "${CXX:-g++}" >/dev/null || echo "warning: no C++ compiler (g++) found: Brian2's cpp_standalone needs one" >&2
      ;;
    nest)
      ROOT_PY="$(dirname "$HERE")/.venv/bin/python"
      if [ -x "$ROOT_PY" ] && "$ROOT_PY" -c "import nest" >/dev/null 2>&1; then
        echo "nest: the project's venv already imports nest; no .venv-nest needed"
        continue
      fi
      venv="$HERE/.venv-nest"
      [ -x "$venv/bin/python" ] || "$PY" -m venv "$venv"
      # scipy: NEST's own hpc_benchmark.py (benchmarks/bench_hpc.py) imports it
      "$venv/bin/python" -m pip install -q "nest-simulator>=3.8" scipy
      PYNEST_QUIET=1 "$venv/bin/python" -c "import nest; print('nest', nest.__version__, 'in', '$venv')" 2>/dev/null | tail -1
      ;;
    *) echo "unknown peer '$peer' (brian2, nest)" >&2; exit 2 ;;
  esac
done
