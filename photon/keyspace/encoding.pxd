# C types for photon/keyspace/encoding.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here. Meta's slots become C struct fields.

cdef class Meta:
    cdef public object type
    cdef public object flags
    cdef public object expire
    cdef public object version
    cdef public object size
    cdef public object head
    cdef public object tail
    cdef public object value
    cdef public object stored
