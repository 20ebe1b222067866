# C types for photon/keyspace/keyspace.py when compiled (photon/compiled.py); the .py is the
# pure-Python module and needs nothing from here. Attributes are C struct fields: typed where
# every assignment (here and elsewhere) gives that type, objects otherwise; __dict__ keeps the
# instances open to other attributes, as a plain class is.
import cython
from photon.keyspace.encoding cimport string_record
from photon.keyspace.slots cimport shard_index
from libc.string cimport memcmp
from posix.time cimport CLOCK_REALTIME, clock_gettime, timespec

cdef bytes _NO_EXPIRY

cdef bint _no_expiry(bytes raw) except -1

@cython.locals(head=cython.Py_ssize_t)
cdef bytes _string_value(bytes raw)


cdef class Shard:
    cdef public object index
    cdef public object engine
    cdef public list keys
    cdef public list expires
    cdef public set dirty_dbs


cdef class Keyspace:
    cdef dict __dict__
    cdef public object databases
    cdef public object journal
    cdef public object layout
    cdef public list shards
    cdef public list engines
    cdef public object shard_of
    cdef public int shift
    cdef public list _mprefix
    cdef public dict pending
    cdef public dict staged
    cdef public Py_ssize_t cache_limit
    cdef public dict _young
    cdef public dict _old
    cdef public object on_staged
    cdef public list touched
    cdef public object expire_deletes
    cdef public object commit_listener
    cdef public dict _replicated
    cdef public dict marks
    cdef public set written_shards
    cdef public object _version
    cdef public object clock_ms
    cdef public object expired
    cdef public object hits
    cdef public object misses
    cdef public object reading

    @cython.locals(now=timespec, ms=cython.longlong)
    cpdef tick(self)

    @cython.locals(ops=dict)
    cpdef rget(self, shard, k)

    @cython.locals(young=dict)
    cdef _keep(self, k, v)

    @cython.locals(young=dict, old=dict)
    cpdef _cached(self, ops)

    @cython.locals(ops=dict)
    cpdef rput(self, shard, k, v)

    @cython.locals(shard=cython.int)
    cpdef lookup(self, db, key)

    cpdef lookup_typed(self, db, key, type_)

    @cython.locals(s=Shard)
    cpdef _put(self, db, key, shard, raw, expire, old)

    @cython.locals(shard=Shard, ops=dict, staged=dict, held=dict)
    cpdef commit(self)

    cpdef _write(self, index, ops)

    @cython.locals(shard=cython.int, raw=bytes)
    cpdef get_string(self, db, key)

    @cython.locals(s=Shard, pending=dict, old_raw=bytes)
    cpdef set_string(self, db, key, value, expire=*, keep_ttl=*, flags=*)


cdef class Collection:
    cdef public Keyspace ks
    cdef public object db
    cdef public object key
    cdef public object meta
    cdef public object old
    cdef public int shard
    cdef public object prefix
    cdef public object zprefix
