# C types for photon/protocol/encoder.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy


@cython.locals(n=cython.Py_ssize_t, digits=cython.Py_ssize_t, t=cython.Py_ssize_t,
               i=cython.Py_ssize_t, out=bytes, p=cython.p_char)
cpdef bytes bulk(bytes value)
