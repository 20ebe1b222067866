# C types for photon/client.py when compiled (photon/compiled.py); the .py is the pure-Python
# module and needs nothing from here. Every field its __init__ sets is a C struct field (typed
# where all assignments give that type); __dict__ takes any other attribute.
import cython
from photon.nodestate cimport NodeState
from photon.protocol.parser cimport RequestParser
from photon.protocol.encoder cimport bulk

cdef class Client:
    cdef dict __dict__
    cdef object __weakref__
    cdef public NodeState server
    cdef public object id
    cdef public object db
    cdef public object name
    cdef public object lib_name
    cdef public object lib_ver
    cdef public object user
    cdef public object authenticated
    cdef public RequestParser parser
    cdef public object acl
    cdef public object peer
    cdef public object multi
    cdef public object multi_dirty
    cdef public object watched
    cdef public object watch_dirty
    cdef public object subscribed
    cdef public object channels
    cdef public object patterns
    cdef public object kind
    cdef public object in_exec
    cdef public object tls
    cdef public list out
    cdef public object transport
    cdef public object closing
    cdef public object closed
    cdef public object blocked
    cdef public object backlog
    cdef public object waiting
    cdef public object held
    cdef public object held_bytes
    cdef public object created
    cdef public object last_interaction
    cdef public object last_cmd
    cdef public object soft_limit_since
    cdef public object addr
    cdef public object laddr
    cdef public object fd
    cdef public object extra
    cdef public object direct_replica
    cdef public object forwarded
    cdef public object in_failover_wait
    cdef public object repl_marks
