"""Where a node keeps its shards, and the one move that replaces a shard whole.

On disk (``<data_dir>/<node_id>/``): ``layout.json`` (the shard count the data was written with),
``shard-NNN/`` (one LevelDB per shard), ``journal/`` (cross-shard commit intents). A full sync
or a shard move builds a shard's new contents in ``shard-NNN.sync`` beside it and swaps it in
when complete; a crash between the two renames of the swap is finished at the next start.
Unit tests use :class:`MemoryLayout`, which keeps the same contract in memory.
"""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from photon.errors import ConfigError
from photon.storage.engine import Engine
from photon.storage.memory import MemoryEngine


class Layout:
    """The engines of one node's shards. ``complete`` tells a finished staged copy from an
    interrupted one (the keyspace decides: a copy is complete once it holds its position)."""

    def open_shards(self) -> list[Engine]:
        raise NotImplementedError

    def open_journal(self) -> Engine | None:
        return None

    def open_staging(self, shard: int) -> Engine:
        """A fresh, empty engine beside the shard (leftovers of an earlier attempt dropped)."""
        raise NotImplementedError

    def swap_in(self, shard: int, live: Engine, staging: Engine) -> Engine:
        """Make the staged copy the shard: both engines are closed, the returned one is live."""
        raise NotImplementedError

    def discard_staging(self, shard: int, staging: Engine) -> None:
        staging.close()

    def recover(self, engines: list[Engine], complete: Callable[[Engine], bool]) -> list[int]:
        """At start-up: finish swaps a crash interrupted; returns the shards it replaced."""
        return []


class MemoryLayout(Layout):
    def __init__(self, engines: list[Engine] | None = None, shards: int = 16) -> None:
        self.engines = engines if engines is not None else [MemoryEngine() for _ in range(shards)]

    def open_shards(self) -> list[Engine]:
        return self.engines

    def open_staging(self, shard: int) -> Engine:
        return MemoryEngine()

    def swap_in(self, shard: int, live: Engine, staging: Engine) -> Engine:
        live.close()
        self.engines[shard] = staging
        return staging


class DiskLayout(Layout):
    def __init__(self, root: str | Path, shards: int, cache_mb: int = 8,
                 write_buffer_mb: int = 4) -> None:
        self.root = Path(root)
        self.shards = shards
        self.cache_mb = cache_mb
        self.write_buffer_mb = write_buffer_mb

    def path(self, shard: int) -> Path:
        return self.root / f"shard-{shard:03d}"

    def _staged(self, shard: int) -> Path:
        path = self.path(shard)
        return path.with_name(path.name + ".sync")

    def _open(self, path: Path, cache_mb: int | None = None) -> Engine:
        from photon.storage.leveldb import LevelDBEngine

        return LevelDBEngine(path, cache_mb=self.cache_mb if cache_mb is None else cache_mb,
                             write_buffer_mb=self.write_buffer_mb)

    def open_shards(self) -> list[Engine]:
        import plyvel

        self.root.mkdir(parents=True, exist_ok=True)
        layout = self.root / "layout.json"
        if layout.exists():
            saved = json.loads(layout.read_text())
            if saved.get("shards") != self.shards:
                raise ConfigError(
                    f"invalid value for shards: {self.shards}, but the data in {self.root} was "
                    f"written with {saved.get('shards')} shards")
        else:
            layout.write_text(json.dumps({"shards": self.shards, "format": 1}) + "\n")
        engines: list[Engine] = []
        try:
            for i in range(self.shards):
                engines.append(self._open(self.path(i)))
        except plyvel.IOError as e:
            for engine in engines:
                engine.close()
            if "lock" in str(e).lower():
                raise ConfigError(f"invalid value for data_dir: {self.root} is in use by another "
                                  "photon process") from None
            raise ConfigError(f"invalid value for data_dir: cannot open {self.root}: {e}") from None
        return engines

    def open_journal(self) -> Engine:
        return self._open(self.root / "journal", cache_mb=1)

    def open_staging(self, shard: int) -> Engine:
        staged = self._staged(shard)
        shutil.rmtree(staged, ignore_errors=True)
        return self._open(staged)

    def swap_in(self, shard: int, live: Engine, staging: Engine) -> Engine:
        staging.sync()
        staging.close()
        live.close()
        path = self.path(shard)
        old = path.with_name(path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        # Two renames: a crash between them leaves no live shard, which opens empty on the
        # next start; recover() then finds the complete copy and finishes the swap.
        path.rename(old)
        self._staged(shard).rename(path)
        shutil.rmtree(old, ignore_errors=True)
        return self._open(path)

    def discard_staging(self, shard: int, staging: Engine) -> None:
        staging.close()
        shutil.rmtree(self._staged(shard), ignore_errors=True)

    def recover(self, engines: list[Engine], complete: Callable[[Engine], bool]) -> list[int]:
        replaced = []
        for shard, engine in enumerate(engines):
            staged = self._staged(shard)
            if staged.is_dir():
                try:
                    candidate = self._open(staged, cache_mb=1)
                    done = complete(candidate)
                    candidate.close()
                except Exception:
                    done = False
                if done and next(iter(engine.keys(b"")), None) is None:
                    engine.close()
                    path = self.path(shard)
                    shutil.rmtree(path)
                    staged.rename(path)
                    engines[shard] = self._open(path)
                    replaced.append(shard)
                else:
                    shutil.rmtree(staged, ignore_errors=True)
            path = self.path(shard)
            shutil.rmtree(path.with_name(path.name + ".old"), ignore_errors=True)
        return replaced
