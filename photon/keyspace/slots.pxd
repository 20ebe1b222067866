# C types for photon/keyspace/slots.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython
from cpython.bytes cimport PyBytes_AS_STRING
from libc.string cimport memchr

cdef unsigned short _CRC[256]


@cython.locals(p=cython.p_char, n=cython.Py_ssize_t, at=cython.p_void, start=cython.Py_ssize_t,
               crc=cython.uint, i=cython.Py_ssize_t)
cpdef int shard_index(key, int shift) except -1
