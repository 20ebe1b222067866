# C types for photon/protocol/parser.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython


@cython.locals(total=cython.Py_ssize_t, n=cython.Py_ssize_t, size=cython.Py_ssize_t,
               digits=list)
cpdef Py_ssize_t wire_length(requests) except? -1


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
                   nl=cython.Py_ssize_t, buf=bytearray, out=list)
    cdef list _parse(self)
