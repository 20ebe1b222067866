# C types for photon/nodestate.py when compiled (photon/compiled.py): the node's fields that
# every request reads are C struct fields; __dict__ takes all the others. stats and slowlog are
# typed (photon/stats.pxd), so the compiled modules update their counters in C.
from photon.keyspace.keyspace cimport Keyspace
from photon.stats cimport SlowLog, Stats

cdef class NodeState:
    cdef dict __dict__
    cdef object __weakref__
    cdef public object config
    cdef public Keyspace keyspace
    cdef public object durability
    cdef public Stats stats
    cdef public SlowLog slowlog
    cdef public object watches
    cdef public object monitors
    cdef public object pause
    cdef public object blocking
    cdef public object security
    cdef public object master
    cdef public object router
