"""sdssplitargs, as inline requests, ACL selectors and script shebang lines use it."""
import pytest

from photon.util.splitargs import split_args


@pytest.mark.parametrize("line,args", [
    (b"", []), (b"   ", []), (b"a b", [b"a", b"b"]), (b"a\tb\x0bc", [b"a", b"b\x0bc"]),
    (b'"a"', [b"a"]), (b'"a" "b"', [b"a", b"b"]), (b'"a"b', None), (b"'a'b", None),
    (b'"\\x4"', [b"x4"]), (b'"\\x41\\x4a"', [b"AJ"]), (b"'\\x41'", [b"\\x41"]),
    (b'"a\\', None), (b"'", None), (b'"', None), (b"a'b'", [b"ab"]), (b'a"b c"d', None),
    # a C string: a NUL ends the line, inside quotes too
    (b"a\x00b", [b"a"]), (b"a \x00 b", [b"a"]), (b'"a\x00b"', None), (b"#!lua\x00x", [b"#!lua"]),
])
def test_split_args(line, args):
    assert split_args(line) == args
