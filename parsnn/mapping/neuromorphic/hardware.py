"""Hardware descriptions: the targets are data (``parsnn/mapping/hardware/*.toml``: SpiNNaker 1 and 2,
Loihi 1 and 2, a generic 2D-mesh NoC); every number there cites its source or is marked as an
assumption. :func:`load_hardware` reads one by name or path and checks its required keys."""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from importlib import resources

from parsnn.errors import ParameterError

TARGETS = ("spinnaker", "spinnaker2", "loihi", "loihi2", "noc")

REQUIRED = {"hardware": ("topology", "routing", "route_key", "cores_per_router", "routers_per_chip", "sync"),
            "core": ("neurons", "synapse_bytes", "synapse_memory_bytes"),
            "time": ("neuron_update_s", "synaptic_event_s", "link_packets_per_s", "router_packets_per_s"),
            "energy": ("synaptic_event_j", "neuron_update_j", "hop_j", "chip_static_w")}


def available_hardware() -> list[str]:
    """Names of the shipped hardware descriptions (``parsnn/mapping/hardware/*.toml``)."""
    d = resources.files("parsnn.mapping").joinpath("hardware")
    return sorted(p.name[:-5] for p in d.iterdir() if p.name.endswith(".toml"))


@dataclass
class Hardware:
    """A target description (``hardware/*.toml``)."""
    name: str
    data: dict
    path: str = ""

    def __getitem__(self, key):
        """A section of the description, e.g. ``hw["core"]``."""
        return self.data[key]

    def get(self, section, key, default=None):
        """``[section] key`` of the description, or ``default``."""
        return self.data.get(section, {}).get(key, default)

    @property
    def hw(self):
        """The ``[hardware]`` section (topology, routing, cores per router, ...)."""
        return self.data["hardware"]


def load_hardware(name_or_path) -> Hardware:
    """A target by name (``available_hardware()``) or TOML path."""
    if isinstance(name_or_path, Hardware):
        return name_or_path
    name_or_path = str(name_or_path)
    if os.path.exists(name_or_path):
        with open(name_or_path, "rb") as f:
            data, path = tomllib.load(f), os.path.abspath(name_or_path)
    else:
        res = resources.files("parsnn.mapping").joinpath("hardware", name_or_path + ".toml")
        if not res.is_file():
            raise ParameterError(f"--target must be one of {', '.join(available_hardware())} or a TOML file, "
                                 f"got '{name_or_path}'")
        with res.open("rb") as f:
            data, path = tomllib.load(f), str(res)
    for sec, keys in REQUIRED.items():
        for k in keys:
            if k not in data.get(sec, {}):
                raise ParameterError(f"hardware description {path}: missing [{sec}] {k}")
    h = data["hardware"]
    if h["topology"] not in ("mesh", "hex") or h["routing"] not in ("tree", "unicast") \
            or h["route_key"] not in ("core", "neuron") or h["sync"] not in ("timer", "barrier"):
        raise ParameterError(f"hardware description {path}: topology must be mesh|hex, routing tree|unicast, "
                             f"route_key core|neuron, sync timer|barrier")
    return Hardware(str(h.get("name", os.path.basename(path)[:-5])), data, path)
