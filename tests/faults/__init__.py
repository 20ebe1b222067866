"""Tools for fault-injection tests: a controllable TCP proxy, history recording and checkers."""
