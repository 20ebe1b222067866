"""Stands in for the ``cython`` module where Cython is not installed (it is only a build
dependency), so that a compiled module's ``.py`` runs as plain Python:

    try:
        import cython
    except ImportError:
        from photon.util import cython_shim as cython

Cython resolves ``cython.compiled`` to True when it compiles the module, and drops the
branches that test it false; here it is False, as in Cython's own pure-Python shadow module.
"""

compiled = False
