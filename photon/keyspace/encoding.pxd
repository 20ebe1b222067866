# C types for photon/keyspace/encoding.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here. Meta's slots become C struct fields.
import cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy


cdef bytes _versioned(int db, int tag, key, unsigned long long version)

cpdef bytes string_record(int flags, unsigned long long expire, value)

@cython.locals(n=cython.Py_ssize_t, out=bytes, p=cython.p_char)
cdef bytes _pack(int b0, int b1, unsigned long long head, int head_size, bytes body,
                 unsigned long long tail, int tail_size)

@cython.locals(i=cython.int)
cdef inline void _big_endian(char* p, unsigned long long value, int size) noexcept

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
