"""``colorize --cluster ADDRESS``: a batch on Dask distributed (the optional extra ``./install.sh --cluster``).

The client plans the batch as usual and sends chunks of tasks to the workers, never more than a few per worker
thread at once (a plan of millions stays a stream). Each worker process loads the model once and runs every photo
through the same per-photo function as the plain CLI (``files.run_task``), so the outputs are the same. A worker that
dies has its chunk retried elsewhere by Dask; outputs are published atomically through exclusively created names, so
a photo whose output a dead worker had already written is found done and never written twice.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict
from pathlib import Path

from gimp_plugin.cli.batch import remove_orphaned_temporaries
from gimp_plugin.cli.photo import Outcome, Settings, run_task
from gimp_plugin.core.errors import InputError

CONNECT_TIMEOUT = "30s"  # how long a tcp:// scheduler may take to answer
CHUNK_SIZE = 32  # photos per Dask task: per-task overhead stays small beside ~1 s a photo, retries stay cheap
CHUNKS_PER_THREAD = 2  # in flight per worker thread: one running, one waiting, so no worker idles between chunks
_M_TRIM_THRESHOLD = -1  # glibc mallopt parameter
INSTALL_HINT = "--cluster needs Dask distributed: run ./install.sh --cluster (or pip install 'colorize[cluster]')"


def require_distributed():
    """The ``distributed`` module, or InputError saying what to install."""
    try:
        import distributed
    except ImportError:
        raise InputError(INSTALL_HINT) from None
    return distributed


def parse_address(text: str) -> tuple[str, int | None]:
    """('local', N or None) or ('tcp://...', None); raises ValueError in words."""
    if text == "local" or text.startswith("local:"):
        count = text.partition(":")[2]
        if count and not (count.isdigit() and int(count) >= 1):
            raise ValueError(f"{text!r}: give local, local:N (N worker processes, N >= 1) or tcp://HOST:PORT")
        return "local", int(count) if count else None
    if "://" not in text:
        raise ValueError(f"{text!r}: give local, local:N or a scheduler address such as tcp://HOST:8786")
    return text, None


def _client(address: str, workers: int | None, threads: int | None):
    distributed = require_distributed()
    import dask

    if address != "local":
        try:
            return distributed.Client(address, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as error:
            raise InputError(
                f"--cluster {address}: cannot reach a Dask scheduler there ({error}); start one with "
                "`dask scheduler` and give the address it prints"
            ) from None
    count = workers or max(1, (os.cpu_count() or 1) // max(1, threads or 1))
    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ for its workers, which doubled the CPU time of a 12 MP photo.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        cluster = distributed.LocalCluster(
            n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
        )
    return distributed.Client(cluster)


_loaded: dict[tuple, object] = {}  # in each worker process: the model, loaded by its first chunk


def _model_on_worker(model_path: str | None, digest: str | None, device: str, threads: int | None):
    key = (model_path, digest, device, threads)
    if key not in _loaded:
        _relax_malloc_trimming()
        from gimp_plugin.core.session import load_model

        model = load_model(model_path, device=device, threads=threads)
        if digest is not None and file_digest(model.path) != digest:
            raise InputError(
                f"the model at {model.path} on this worker differs from the client's; give every "
                "machine the same file (a shared folder) or the same Colorize install"
            )
        _loaded.clear()
        _loaded[key] = model
    return _loaded[key]


def _relax_malloc_trimming() -> None:
    """Undo MALLOC_TRIM_THRESHOLD_=65536 where a `dask worker` was started with it (glibc only)."""
    if not os.environ.get("MALLOC_TRIM_THRESHOLD_") or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(_M_TRIM_THRESHOLD, 128 << 20)
    except (OSError, AttributeError):
        pass


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def colorize_chunk(pairs: list[tuple[str, str]], model_spec: dict, settings: Settings) -> list[dict]:
    """Runs on a worker: each (input, output) through ``run_task``; per-photo failures are outcomes, not raised."""
    try:
        model = _model_on_worker(**model_spec)
    except Exception as error:  # the model cannot load here: every photo of the chunk says why
        return [asdict(Outcome(source, destination, "failed", f"on worker: {error}")) for source, destination in pairs]
    return [asdict(run_task(Path(source), Path(destination), model, settings)) for source, destination in pairs]


def _chunks(
    pairs: Iterable[tuple[Path, Path]], size: int, sent: dict[str, set[str]]
) -> Iterator[list[tuple[str, str]]]:
    """Chunks of ``size`` (input, output) pairs; each output's name is recorded in ``sent`` by folder."""
    chunk = []
    for source, destination in pairs:
        folder, name = os.path.split(str(destination))
        sent.setdefault(folder, set()).add(name)
        chunk.append((str(source), str(destination)))
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def run_on_cluster(
    address: str,
    pairs: Iterable[tuple[Path, Path]],
    settings: Settings,
    model_spec: dict,
    on_outcome: Callable[[Outcome], None],
    chunk_size: int = CHUNK_SIZE,
) -> None:
    """Colorize ``pairs`` on the cluster at ``address``, calling ``on_outcome`` for each photo as its chunk ends."""
    distributed = require_distributed()
    where, workers = parse_address(address)
    sent: dict[str, set[str]] = {}
    with _client(where, workers, model_spec.get("threads")) as client:
        try:
            _run_chunks(distributed, client, _chunks(pairs, chunk_size, sent), settings, model_spec, on_outcome)
        finally:
            if where == "local":
                client.cluster.close()
    remove_orphaned_temporaries(sent)  # every chunk has ended: what a killed worker left is nobody's now


def _run_chunks(distributed, client, chunks, settings, model_spec, on_outcome) -> None:
    threads = sum(client.nthreads().values()) or 1
    running, pending = distributed.as_completed(), {}

    def submit_next() -> None:
        chunk = next(chunks, None)
        if chunk is not None:
            # pure=False: a chunk is work with side effects, never to be merged with an identical one
            future = client.submit(colorize_chunk, chunk, model_spec, settings, pure=False, retries=2)
            pending[future.key] = chunk
            running.add(future)

    for _ in range(threads * CHUNKS_PER_THREAD):
        submit_next()
    for future in running:
        chunk = pending.pop(future.key)
        try:
            records = future.result()
        except Exception as error:  # the chunk failed on every try (its workers died): its photos say so
            records = [
                asdict(Outcome(source, destination, "failed", f"the cluster could not run it: {error}"))
                for source, destination in chunk
            ]
        for record in records:
            on_outcome(Outcome(**record))
        future.release()
        submit_next()
