"""Where a command's network comes from: a registered model (parsnn.registry: its command-line
options and its Network) or, for ``parsnn predict`` and ``parsnn map``, a finished run file; the
analysing commands get it as one :class:`parsnn.connectivity.Connectivity` (:func:`resolve_source`)."""
from __future__ import annotations

import os
import warnings

from parsnn import registry
from parsnn.options import positive_float
from parsnn.errors import ParameterError


def add_model_arguments(parser):
    """One argument group per registered model, with that model's options."""
    for name in registry.names():
        registry.get(name).add_arguments(parser.add_argument_group(name))


def add_analysis_arguments(parser):
    """The last options of the commands that analyse a model without simulating it (nothing is
    recorded): ``--resolution``, ``--debug`` and every model's options."""
    parser.add_argument("--resolution", type=positive_float("--resolution"), default=0.1,
                        help="step in ms (default 0.1)")
    parser.add_argument("--debug", action="store_true", help="print tracebacks")
    parser.set_defaults(no_record=True, record_v=0)
    add_model_arguments(parser)


def make_network(args):
    """The Network of model ``args.model`` for the parsed options (may warn; not validated)."""
    return registry.get(args.model).from_args(args)


def validated_network(args):
    """The model's description for commands that only analyse it (warnings about simulating it
    are beside the point there); raises ParameterError on bad input."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = make_network(args)
    net.validate()
    return net


def resolve_source(args, read_run):
    """SOURCE of ``parsnn predict/map``: ``(connectivity, None)`` when ``args.source`` names a registered
    model (the :class:`~parsnn.connectivity.Connectivity` of its validated Network; ``args.model`` is
    set to it), ``(None, read_run(path))`` when it is an existing file (a file ``read_run`` cannot
    read is a ParameterError; what it returns holds the run's Connectivity), else a ParameterError
    listing the models."""
    from parsnn.connectivity import Connectivity
    models = registry.names()
    if args.source in models:
        args.model = args.source
        return Connectivity.from_network(validated_network(args)), None
    if os.path.isfile(args.source):
        try:
            return None, read_run(args.source)
        except (OSError, KeyError) as e:
            raise ParameterError(f"source: '{args.source}' is not a readable parsnn run file ({e})") from None
    raise ParameterError(f"source must be a model ({', '.join(models)}) or an existing run file, "
                         f"got '{args.source}'")
