"""The launcher as a user meets it: defaults, one-line errors, python -m photon."""
import os
import subprocess
import sys

from tests.support import ROOT, free_port, wait_for_port


def _photon(*args, cwd, env=None, timeout=20):
    return subprocess.run([sys.executable, "-m", "photon", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})


def test_bad_setting_stops_the_start_with_one_line(tmp_path):
    for args, words in ((["serve", "--shards", "12"], "shards"),
                        (["serve", "--appendfsync", "sometimes"], "appendfsync"),
                        (["serve", "--port", "70000"], "port")):
        done = _photon(*args, cwd=tmp_path)
        assert done.returncode == 1
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("photon: invalid value for " + words)
    done = _photon("serve", cwd=tmp_path, env={"NODE_ROLE": "replica"})
    assert done.returncode == 1 and "master_addr" in done.stderr


def test_version_and_help(tmp_path):
    done = _photon("--version", cwd=tmp_path)
    assert done.returncode == 0 and "Redis 7.0.15 compatible" in done.stdout
    done = _photon("serve", "--help", cwd=tmp_path)
    assert done.returncode == 0
    for flag in ("--port", "--http-port", "--data-dir", "--node-id", "--shards", "--appendfsync",
                 "--config", "--log-file", "--log-level", "--write-quorum", "--role"):
        assert flag in done.stdout


def test_defaults_keep_data_under_dot_data_and_a_stable_node_id(tmp_path):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "photon", "serve", "--port", str(port),
                             "--http-port", "0"], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
    node_id = (tmp_path / "data" / "node-id").read_text().strip()
    assert len(node_id) == 40
    assert sorted(p.name for p in (tmp_path / "data" / node_id).iterdir()) == [
        "journal", "layout.json", *(f"shard-{i:03d}" for i in range(16))]


def test_shard_count_cannot_change_under_existing_data(tmp_path):
    port = free_port()
    args = ["serve", "--port", str(port), "--http-port", "0", "--node-id", "n1"]
    proc = subprocess.Popen([sys.executable, "-m", "photon", *args], cwd=tmp_path,
                            env={**os.environ, "PYTHONPATH": str(ROOT)},
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, proc)
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    done = _photon(*args, "--shards", "8", cwd=tmp_path)
    assert done.returncode == 1
    assert "invalid value for shards: 8, but the data" in done.stderr
