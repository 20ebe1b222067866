# C types for photon/commands/dispatch.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython
from photon.client cimport Client
from photon.commands.table cimport Command
from photon.keyspace.keyspace cimport Keyspace
from photon.nodestate cimport NodeState
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec


@cython.locals(node=NodeState, cmd=Command, arity=cython.Py_ssize_t, n=cython.Py_ssize_t)
cpdef execute(Client c, argv)

@cython.locals(now=timespec)
cdef double _clock()

@cython.locals(ks=Keyspace, node=NodeState, start=cython.double, elapsed=cython.double)
cpdef call(Client c, Command cmd, argv)
