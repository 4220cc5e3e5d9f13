"""PyNN's procedural API (create, connect, record) on the backend's classes."""
from pyNN import common
from pyNN.connectors import FixedProbabilityConnector

from parsnn.pynn import simulator
from parsnn.pynn.populations import Population
from parsnn.pynn.projections import Projection
from parsnn.pynn.standardmodels import StaticSynapse

create = common.build_create(Population)
connect = common.build_connect(Projection, FixedProbabilityConnector, StaticSynapse)
record = common.build_record(simulator)
