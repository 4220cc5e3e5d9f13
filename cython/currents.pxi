# Time-varying input currents of the local neurons (included by engine.pyx): PyNN's ACSource, as
# NEST's ac_generator feeds iaf_psc_exp & co. through pyNN.nest. Filled by parsnn/engine/currents.py.
from libc.math cimport sin


cdef class CurrentState:
    """Sinusoidal currents onto local neurons, CSR over the local neurons (ptr[i] .. ptr[i+1]: the
    sources of neuron i, in a fixed order); ie0: each neuron's constant input current (I_e + DC, pA)."""
    cdef public int64_t[::1] ptr
    cdef public double[::1] amp, offset, w, phi     # pA, pA, rad per step, rad at step ``on``
    cdef public int64_t[::1] on, off                # active in steps on <= t < off
    cdef public double[::1] ie0


cdef void _ac_currents(CurrentState c, double* ie, int64_t start, int64_t end, int64_t t) noexcept nogil:
    """The input current of neurons start..end-1 in step t: ie0 plus, for each active source,
    amp sin(w (t - on) + phi) + offset (added in the source order: the same sum on any layout)."""
    cdef int64_t i, j
    cdef double x
    if c.ptr[end] == c.ptr[start]:
        return
    for i in range(start, end):
        if c.ptr[i + 1] == c.ptr[i]:
            continue
        x = c.ie0[i]
        for j in range(c.ptr[i], c.ptr[i + 1]):
            if t >= c.on[j] and t < c.off[j]:
                x = x + (c.amp[j] * sin(c.w[j] * <double> (t - c.on[j]) + c.phi[j]) + c.offset[j])
        ie[i] = x
