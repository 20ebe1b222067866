# C types for photon/commands/dispatch.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython
from photon.client cimport Client
from photon.keyspace.keyspace cimport Keyspace
from photon.nodestate cimport NodeState


@cython.locals(node=NodeState)
cpdef execute(Client c, argv)

@cython.locals(ks=Keyspace, node=NodeState)
cpdef call(Client c, cmd, argv)
