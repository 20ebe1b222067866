# C types for photon/commands/table.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here. Every field Command.__init__ sets is a C
# struct field, typed where every assignment gives that type; __dict__ takes any other.

cdef class Command:
    cdef dict __dict__
    cdef object __weakref__
    cdef public str name
    cdef public object handler
    cdef public Py_ssize_t arity
    cdef public frozenset flags
    cdef public Py_ssize_t first_key
    cdef public Py_ssize_t last_key
    cdef public Py_ssize_t step
    cdef public object keys_fn
    cdef public Command parent
    cdef public dict subcommands
    cdef public Py_ssize_t calls
    cdef public double seconds
    cdef public Py_ssize_t rejected
    cdef public Py_ssize_t failed
    cdef public bint write
    cdef public bint readonly
    cdef public bint admin
    cdef public bint noauth
    cdef public bint pubsub
    cdef public bint loading
    cdef public bint stale
    cdef public bint blocking
    cdef public bint no_multi
    cdef public bint denyoom
    cdef public bint allow_busy
    cdef public bint hidden_from_monitor
    cdef public bint internal
