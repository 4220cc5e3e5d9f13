"""``static_synapse``: a fixed weight and delay (NEST's model); code 0, not plastic."""
from parsnn.synapses import SynapseModel

MODEL = SynapseModel(name="static_synapse", code=0)
