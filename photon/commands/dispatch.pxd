# C types for photon/commands/dispatch.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here.
import cython
from photon.keyspace.keyspace cimport Keyspace


@cython.locals(ks=Keyspace)
cpdef call(c, cmd, argv)
