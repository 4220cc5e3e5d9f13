"""Network models shipped with parsnn (installed as ``parsnn.models``).

Every sub-folder is one model and declares ``MODEL = parsnn.registry.ModelSpec(...)``;
:mod:`parsnn.registry` finds them by name.
"""
