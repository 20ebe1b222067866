"""Every command's declared arity, flags and key positions equal Redis 7.0's own table."""
import pytest

import photon.server  # noqa: F401  (registers every command)
from photon.commands import reference
from photon.commands.table import COMMANDS

# Commands newer than Redis 7.0 (redis-py sends CLIENT SETINFO) and PhotonDB's internal
# PHOTON.* commands (replication links): no reference entry.
NEWER_THAN_7_0 = {"client|setinfo", "cluster|myshardid"}
# Commands extended with a later Redis's option the issues ask for (ZRANK ... WITHSCORE, 7.2).
NEWER_ARITY = {"zrank": -3, "zrevrank": -3}
# Flags Redis computes rather than declares.
DERIVED = {"movablekeys"}


def _all():
    for cmd in COMMANDS.values():
        yield cmd
        yield from cmd.subcommands.values()


@pytest.mark.parametrize("cmd", list(_all()), ids=lambda c: c.name)
def test_declaration_matches_redis(cmd):
    ref = reference.info(cmd.name)
    if cmd.name in NEWER_THAN_7_0 or cmd.name.startswith("photon."):
        assert ref is None
        return
    assert ref is not None, f"{cmd.name} is not a Redis 7.0 command"
    name, arity, flags, first, last, step = ref[:6]
    assert cmd.arity == NEWER_ARITY.get(cmd.name, arity)
    assert set(cmd.flags) == set(flags) - DERIVED
    assert (cmd.first_key, cmd.last_key, cmd.step) == (first, last, step)


def test_containers_have_their_redis_arity():
    for cmd in COMMANDS.values():
        if cmd.subcommands:
            assert cmd.arity == reference.info(cmd.name)[1]
