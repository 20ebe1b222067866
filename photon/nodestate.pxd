# C types for photon/nodestate.py when compiled (photon/compiled.py): the node's fields that
# every request reads are C struct fields; __dict__ takes all the others.

cdef class NodeState:
    cdef dict __dict__
    cdef object __weakref__
    cdef public object config
    cdef public object keyspace
    cdef public object durability
    cdef public object stats
    cdef public object slowlog
    cdef public object watches
    cdef public object monitors
    cdef public object pause
    cdef public object blocking
    cdef public object security
    cdef public object master
    cdef public object router
