"""Settings: sources and precedence, one-line errors, and conf/photon.toml listing every
setting with its real default."""
import tomllib
from pathlib import Path

import pytest

from photon import config
from photon.errors import ConfigError

CONF = Path(__file__).resolve().parents[2] / "conf" / "photon.toml"


def test_conf_file_documents_every_setting_with_its_default():
    documented = tomllib.loads(CONF.read_text())
    names = {s.name for s in config.SETTINGS} - {"config"}
    assert set(documented) == names
    from_file = config.load({"config": str(CONF)}, env={})
    defaults = config.load({}, env={})
    for name in names:
        assert getattr(from_file, name) == getattr(defaults, name), name


def test_precedence_flag_over_env_over_file_over_default(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text('port = 7001\nhttp_port = 7002\nhz = 20\n')
    s = config.load({"config": str(toml), "port": "7003"},
                    env={"PHOTON_HTTP_PORT": "7004", "PHOTON_PORT": "7005"})
    assert (s.port, s.http_port, s.hz, s.databases) == (7003, 7004, 20, 16)
    assert s.source("port") == "--port" and s.source("http_port") == "PHOTON_HTTP_PORT"
    assert s.source("hz") == str(toml) and s.source("databases") == "default"


def test_spec_environment_names():
    s = config.load({}, env={"NODE_ID": "n1", "NODE_ROLE": "replica", "SHARD_RANGE": "0-5",
                             "MASTER_ADDR": "m1:6379", "ENABLE_READ_REPLICAS": "false"})
    assert (s.node_id, s.role, s.shard_range, s.master_addr, s.enable_read_replicas) == (
        "n1", "replica", "0-5", "m1:6379", False)


@pytest.mark.parametrize("flags, env, words", [
    ({"shards": "12"}, {}, "invalid value for shards (from --shards): 12 is not a power of two"),
    ({"port": "x"}, {}, "invalid value for port (from --port): 'x' is not an integer"),
    ({}, {"PHOTON_APPENDFSYNC": "sometimes"}, "invalid value for appendfsync (from "
                                              "PHOTON_APPENDFSYNC)"),
    ({}, {"NODE_ROLE": "replica"}, "invalid value for master_addr"),
    ({"role": "master", "write_quorum": "4"}, {}, "invalid value for write_quorum: 4 is above "
                                                  "replication_factor 3"),
    ({"config": "/nonexistent.toml"}, {}, "cannot read config file /nonexistent.toml"),
])
def test_bad_settings_are_one_line_naming_the_setting(flags, env, words):
    with pytest.raises(ConfigError) as e:
        config.load(flags, env=env)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_unknown_key_in_file(tmp_path):
    toml = tmp_path / "p.toml"
    toml.write_text('prot = 1\n')
    with pytest.raises(ConfigError, match="unknown setting 'prot'"):
        config.load({"config": str(toml)}, env={})
