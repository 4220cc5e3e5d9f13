"""Network models shipped with parsnn (installed as ``parsnn.models``)."""
MODELS = ("pd14", "brunel")
