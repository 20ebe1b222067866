# C types for photon/commands/dispatch.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython
from photon.client cimport Client
from photon.commands.table cimport Command
from photon.keyspace.keyspace cimport Keyspace
from photon.nodestate cimport NodeState


@cython.locals(node=NodeState, cmd=Command, arity=cython.Py_ssize_t, n=cython.Py_ssize_t)
cpdef execute(Client c, argv)

@cython.locals(ks=Keyspace, node=NodeState)
cpdef call(Client c, Command cmd, argv)
