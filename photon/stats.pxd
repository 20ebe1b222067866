# C types for photon/stats.py when compiled (photon/compiled.py); the .py is the pure-Python
# module and needs nothing from here. The counters every request updates are C integers; the
# slow log's threshold is a C double; __dict__ takes every other attribute.

cdef class Stats:
    cdef dict __dict__
    cdef object __weakref__
    cdef public Py_ssize_t commands
    cdef public Py_ssize_t net_input
    cdef public Py_ssize_t net_output


cdef class SlowLog:
    cdef dict __dict__
    cdef object __weakref__
    cdef public double threshold_s
