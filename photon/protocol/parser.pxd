# C types for photon/protocol/parser.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython
from libc.string cimport memchr


@cython.locals(total=cython.Py_ssize_t, n=cython.Py_ssize_t, size=cython.Py_ssize_t,
               digits=list)
cpdef Py_ssize_t wire_length(requests) except? -1


cdef long long INLINE_MAX, MULTIBULK_MAX, UNAUTH_MULTIBULK_MAX, UNAUTH_BULK_MAX, ARG_OVERHEAD
cdef long long INVALID


cdef class RequestParser:
    cdef public Py_ssize_t max_bulk
    cdef public bint auth_required
    cdef public object _reader
    cdef public bytearray _buf
    cdef public Py_ssize_t _pos
    cdef public Py_ssize_t _left
    cdef public Py_ssize_t _bulk
    cdef public list _args
    cdef public Py_ssize_t _argbytes
    cdef public object error
    cdef public bint partial

    @cython.locals(requests=list, used=cython.Py_ssize_t)
    cpdef list feed(self, data)

    @cython.locals(pos=cython.Py_ssize_t, end=cython.Py_ssize_t, start=cython.Py_ssize_t,
                   nl=cython.Py_ssize_t, size=cython.Py_ssize_t, count=cython.longlong,
                   length=cython.longlong, buf=bytearray, out=list,
                   p=cython.p_uchar)
    cdef list _parse(self)


@cython.locals(at=cython.p_void)
cdef Py_ssize_t _find_cr(bytearray buf, const unsigned char* p, Py_ssize_t start,
                         Py_ssize_t end)


@cython.locals(n=cython.Py_ssize_t, v=cython.longlong, i=cython.Py_ssize_t, c=cython.int)
cdef long long _number(bytearray buf, const unsigned char* p, Py_ssize_t start, Py_ssize_t end)
