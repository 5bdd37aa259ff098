"""Batch embedding on a Ray cluster: `RayEncoder`, a rag.protocols.Encoder whose encode_passages
runs Ray Data `map_batches` over actors that each load the model once (rag.embed.Embedder), so
index building needs no change. Queries and the model identity stay local.

    with RayEncoder(model, address="auto") as encoder:   # `rag index --ray auto|ADDRESS`
        index.build(corpus, path, encoder)

`address`: "auto" connects to the cluster Ray finds (RAY_ADDRESS, else one started on this machine
by `ray start`) or else starts a local one for the duration; otherwise a cluster address
("ray://head:10001" or "head:6379"). Every worker needs `unrag` installed and the model folder at
the same path (run `rag model` there, or share the folder); an actor whose weights differ from the
driver's refuses to start. Requires `pip install 'unrag[ray]'` (ray[data]).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.embed import Embedder, check_texts
from rag.errors import ConfigError, ModelError

log = logging.getLogger(__name__)


class PassageActor:
    """A Ray Data actor: loads the model once, then encodes batches of {"row", "text"}."""

    def __init__(self, model: str, runtime: str, precision: str, threads: int, weights_hash: str):
        self.encoder = Embedder(model, runtime=runtime, precision=precision, threads=threads)
        if self.encoder.weights_hash != weights_hash:
            raise ModelError(f"{model}: weights on this worker ({self.encoder.weights_hash[:12]}) differ "
                             f"from the driver's ({weights_hash[:12]})")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.encoder.encode_passages([str(t) for t in batch["text"]])
        return {"row": batch["row"], "vector": vectors}


class RayEncoder:
    """encode_passages on a Ray cluster; everything else from a local Embedder of the same model."""

    def __init__(self, model: str, address: str = "auto", *, runtime: str = "auto",
                 precision: str = "auto", cpus_per_actor: int = 1, actors: int | None = None,
                 batch_size: int = 64):
        if cpus_per_actor < 1 or batch_size < 1 or (actors is not None and actors < 1):
            raise ValueError("RayEncoder: cpus_per_actor, actors and batch_size must be >= 1")
        self.local = Embedder(model, runtime=runtime, precision=precision)
        self.model_id = self.local.model_id
        self.address = address
        self.cpus_per_actor, self.actors, self.batch_size = cpus_per_actor, actors, batch_size
        self._started = False

    def __repr__(self) -> str:
        return f"RayEncoder({self.model_id!r}, address={self.address!r}, runtime={self.local.runtime})"

    @property
    def info(self) -> dict[str, Any]:
        return {**self.local.info, "ray": self.address}

    @property
    def dimension(self) -> int:
        return self.local.dimension

    @property
    def weights_hash(self) -> str:
        return self.local.weights_hash

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.local.encode_queries(texts)

    def encode_passages(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        items = check_texts(texts, "passage")
        if not items:
            return np.zeros((0, self.dimension), dtype=np.float32)
        ray = self._connect()
        ray.data.DataContext.get_current().enable_progress_bars = progress
        order = sorted(range(len(items)), key=lambda i: len(items[i]), reverse=True)  # alike lengths per block
        pool = self._pool_size(ray)
        blocks = max(1, min(-(-len(items) // self.batch_size), 4 * pool))
        rows = [{"row": i, "text": items[i]} for i in order]
        dataset = ray.data.from_items(rows, override_num_blocks=blocks)
        gpus = 1 if ray.cluster_resources().get("GPU", 0) >= 1 else None
        mapped = dataset.map_batches(
            PassageActor, batch_size=self.batch_size, batch_format="numpy", num_cpus=self.cpus_per_actor,
            num_gpus=gpus, compute=ray.data.ActorPoolStrategy(size=min(pool, blocks)),
            fn_constructor_kwargs={"model": self.model_id, "runtime": self.local.runtime,
                                   "precision": self.local.precision, "threads": self.cpus_per_actor,
                                   "weights_hash": self.weights_hash})
        out = np.zeros((len(items), self.dimension), dtype=np.float32)
        seen = np.zeros(len(items), dtype=bool)
        for batch in mapped.iter_batches(batch_format="numpy", batch_size=None):
            out[batch["row"]] = batch["vector"]
            seen[batch["row"]] = True
        if not seen.all():
            raise ModelError(f"Ray returned {int(seen.sum())} of {len(items)} passage vectors")
        return out

    def _pool_size(self, ray: Any) -> int:
        if self.actors:
            return self.actors
        resources = ray.cluster_resources()
        if resources.get("GPU", 0) >= 1:
            return int(resources["GPU"])
        return max(1, int(resources.get("CPU", 1) // self.cpus_per_actor))

    def _connect(self) -> Any:
        try:
            import ray
        except ImportError as err:
            raise ConfigError("--ray needs Ray Data: pip install 'unrag[ray]' (ray[data]==2.60.0)") from err
        if not ray.is_initialized():
            try:
                ray.init(address=None if self.address == "auto" else self.address,
                         include_dashboard=False, log_to_driver=False, configure_logging=False)
            except (ConnectionError, ValueError, RuntimeError) as err:
                raise ConfigError(f"--ray {self.address}: cannot connect to a Ray cluster ({err})") from err
            self._started = True
            log.info("Ray: %s", ray.cluster_resources())
        return ray

    def close(self) -> None:
        """Disconnect from (or stop) the Ray instance this encoder started; one started by the
        caller stays up."""
        if self._started:
            import ray

            ray.shutdown()
            self._started = False

    def __enter__(self) -> RayEncoder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
