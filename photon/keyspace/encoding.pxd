# C types for photon/keyspace/encoding.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here. Meta's slots become C struct fields.
import cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy


@cython.locals(n=cython.Py_ssize_t, out=bytes, p=cython.p_char, v=cython.ulonglong,
               i=cython.Py_ssize_t)
cdef bytes _versioned(int db, int tag, key, unsigned long long version)

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
