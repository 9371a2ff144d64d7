"""The Ray backend of sweeps: every run's result and training directory come back to the driver's ``OUT``.

:func:`massbargain.experiments.maps.sweep.run_sweep` with ``backend="ray"`` sends each run to a Ray task
(one CPU, plus any custom ``resources``) on a local Ray instance or on a running cluster (``address``), and
the driver (the process that called it) writes everything into its output directory, so that a cluster
run's ``OUT`` holds the same files as a local run's::

    OUT/runs/<run_id>.json      written by the driver when the run's task returns
    OUT/models/<run_id>/        the run's training directory, brought back by one of two ways:

* **through Ray's object store** (the default): the task trains in a temporary directory of its node,
  packs it as a tar archive and returns the bytes with its metrics; the driver unpacks them beside
  ``OUT/models`` and renames the directory into place. The default because it needs nothing shared
  between machines, and a run's directory is small (0.5 MB for a run of the default mode map: two models,
  metrics, config and TensorBoard events; 2.0 MB for a default ``massbargain train`` run with its five
  checkpoints).
* **through shared storage** (``storage=DIR``, ``--storage DIR``): ``DIR`` is a directory every node sees
  at the same path (NFS, a cluster file system). The task trains in
  ``DIR/.massbargain-staging/<key>/<run_id>-<attempt>/`` and returns only the path; the driver moves the
  directory into ``OUT/models/<run_id>`` (a rename when ``DIR`` and ``OUT`` share a file system, e.g.
  ``--storage`` equal to an ``--out`` on the shared file system). For big artifacts or many nodes, where
  sending every model through the driver's object store would cost memory and bandwidth. A node that does
  not see ``DIR`` fails the run with a one-line error.

**Commit order.** The driver first renames the training directory into place, then writes the result file
atomically: a run is finished when, and only when, its result file exists. An unfinished run (a training
directory without a result file, or a half-unpacked ``OUT/models/.<run_id>.*.tmp``) is redone from scratch
when the sweep is resumed, exactly as with the local backend.

**Failures.** A task whose node dies (or whose worker process is killed) is rerun by Ray on another node, up
to ``max_retries`` times (Ray's task retries; a result lost with its node's object store is rebuilt the
same way). The dead attempt never wrote into ``OUT``: with the object store it trained in its own
temporary directory, and with shared storage its half-written staging directory is removed when the sweep
ends (or at the next start). So a node dying loses at most the runs in flight, which are redone, and no
result is written twice. An exception raised by the run itself (a bad config, a bug) is not retried: it
stops the sweep with its message, keeping every finished run.

Each record of a Ray run also says where it ran: ``"node": {"id": <Ray node id>, "ip": <node address>}``.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tarfile
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from massbargain.agents.config import RunError, UserError

__all__ = ["DEFAULT_MAX_RETRIES", "STAGING", "Outcome", "StorageError", "pack_dir", "run_ray", "unpack_dir"]

#: Ray reruns a task whose node or worker died at most this many times (Ray's own default for tasks).
DEFAULT_MAX_RETRIES = 3
#: Folder of ``storage`` where the tasks write training directories before the driver moves them.
STAGING = ".massbargain-staging"
RunFn = Callable[..., dict[str, Any]]


class StorageError(UserError):
    """A node cannot use the shared storage directory (it does not see it, or cannot write to it)."""


@dataclass(frozen=True)
class Outcome:
    """What a task sends back: the run's metrics and time, the node it ran on, and its training directory
    (``files``: a tar archive, through the object store; ``staged``: a path in the shared storage; both
    None when the run made no training directory or none was asked for)."""

    metrics: dict[str, Any]
    seconds: float
    node: dict[str, str]
    files: bytes | None = None
    staged: str | None = None


# --- packing a training directory ----------------------------------------------------------------------


def pack_dir(path: str | os.PathLike) -> bytes | None:
    """The directory ``path`` as an uncompressed tar archive (members in sorted order); None if it does
    not exist (a run that wrote nothing, e.g. a scripted policy's)."""
    path = Path(path)
    if not path.is_dir():
        return None
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(path, arcname=".")
    return buffer.getvalue()


def unpack_dir(data: bytes, dest: str | os.PathLike) -> Path:
    """Unpack an archive of :func:`pack_dir` into ``dest`` atomically: into a temporary sibling first,
    then a rename (an older ``dest``, an unfinished run's leftover, is replaced). Returns ``dest``."""
    dest = Path(dest)
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r") as tar:
            if hasattr(tarfile, "data_filter"):  # refuses absolute paths, links out of the folder, devices
                tar.extractall(tmp, filter="data")
            else:  # pragma: no cover - Python before 3.10.12
                tar.extractall(tmp)  # noqa: S202 - the archive comes from our own tasks
        _replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return dest


def _move_dir(src: str | os.PathLike, dest: Path) -> None:
    """Move the directory ``src`` to ``dest`` (a rename on one file system, else a copy into a temporary
    sibling of ``dest`` and a rename), replacing an older ``dest``."""
    tmp = dest.parent / f".{dest.name}.{os.getpid()}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        shutil.move(str(src), str(tmp))
        _replace_dir(tmp, dest)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _replace_dir(tmp: Path, dest: Path) -> None:
    if dest.exists():
        shutil.rmtree(dest)
    os.rename(tmp, dest)


# --- the task --------------------------------------------------------------------------------------------


def _node() -> dict[str, str]:
    import ray

    return {"id": ray.get_runtime_context().get_node_id(), "ip": ray.util.get_node_ip_address()}


def _task(fn: RunFn, config: Mapping[str, Any], seed: int, run_id: str, keep: bool, staging: str | None) -> Outcome:
    """One run on a Ray worker: train (if ``keep``, into a directory of its own) and send everything back."""
    from massbargain.experiments.maps.sweep import _execute

    node = _node()
    if not keep:
        metrics, seconds = _execute(fn, config, seed, None)
        return Outcome(metrics, seconds, node)
    if staging is not None:
        if not Path(staging).is_dir():
            raise StorageError(
                f"--storage: {str(Path(staging).parent.parent)!r} is not visible on node {node['ip']}; "
                "give a directory that every node of the cluster shares at the same path"
            )
        workdir = Path(staging) / f"{run_id}-{uuid.uuid4().hex[:8]}"  # one per attempt: a retry starts clean
        metrics, seconds = _execute(fn, config, seed, str(workdir))
        return Outcome(metrics, seconds, node, staged=str(workdir) if workdir.is_dir() else None)
    tmp = Path(tempfile.mkdtemp(prefix="massbargain-run-"))
    try:
        metrics, seconds = _execute(fn, config, seed, str(tmp / run_id))
        return Outcome(metrics, seconds, node, files=pack_dir(tmp / run_id))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _commit(out: Path, run_id: str, outcome: Outcome) -> None:
    """Put a returned run's training directory in ``OUT/models/<run_id>`` (the result file comes after)."""
    dest = out / "models" / run_id
    if outcome.files is not None:
        unpack_dir(outcome.files, dest)
    elif outcome.staged is not None:
        if not Path(outcome.staged).is_dir():
            raise StorageError(
                f"--storage: the driver does not see {outcome.staged!r}, written by node {outcome.node['ip']}; "
                "give a directory that the driver and every node share at the same path"
            )
        _move_dir(outcome.staged, dest)


def _staging_dir(storage: str | os.PathLike, out: Path) -> Path:
    """This output directory's staging folder in ``storage``, emptied (leftovers of dead attempts go)."""
    storage = Path(storage).resolve()  # the tasks' working directories differ from the driver's
    if storage.exists() and not storage.is_dir():
        raise UserError(f"--storage {str(storage)!r} exists and is not a directory; give a shared directory")
    key = hashlib.sha256(str(out.resolve()).encode()).hexdigest()[:16]
    staging = storage / STAGING / key
    try:
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
    except OSError as exc:
        raise UserError(f"--storage {str(storage)!r} cannot be written: {exc.strerror or exc}") from None
    return staging


def _remove_staging(staging: Path) -> None:
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.parent.rmdir()  # .massbargain-staging, if no other sweep is staging there
    except OSError:
        pass


# --- the driver --------------------------------------------------------------------------------------------


def _unreachable(address: str, timeout: float = 5.0) -> str | None:
    """Why a TCP connection to a ``HOST:PORT`` Ray address fails (None if it succeeds, or if the address is of
    another form, such as ``auto`` or ``ray://...``). Ray itself retries an unreachable address for minutes."""
    import socket

    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "/" in address:
        return None
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=timeout).close()
    except OSError as exc:
        return exc.strerror or str(exc) or type(exc).__name__
    return None


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("the ray backend needs Ray: pip install 'massbargain[ray]'") from None
    return ray


def _check_resources(ray: Any, resources: Mapping[str, float]) -> None:
    """UserError if the cluster offers none of a requested custom resource (the tasks would wait forever)."""
    offered = ray.cluster_resources()
    for name, amount in resources.items():
        if offered.get(name, 0) < amount:
            raise UserError(
                f"--resources {name}={amount:g}: the cluster offers {offered.get(name, 0):g} of {name!r}; start "
                f"nodes with ray start --resources='{{\"{name}\": N}}', or leave --resources out"
            )


def run_ray(
    pending: Sequence[Any],
    out: Path,
    fn: RunFn,
    record: Callable[[Any, Outcome], None],
    *,
    keep: bool,
    workers: int | None,
    address: str | None,
    storage: str | os.PathLike | None,
    resources: Mapping[str, float] | None,
    max_retries: int,
    bar: Any,
) -> None:
    """Run ``pending`` (sweep :class:`~massbargain.experiments.maps.sweep.Run` objects) as Ray tasks and,
    as each returns, put its training directory in ``OUT/models`` and call ``record(run, outcome)`` (which
    writes its result file).

    Args:
        keep: bring back each run's training directory (else the runs get none).
        workers: at most this many runs in flight (default: all); a local instance gets this many CPUs.
        address: a running cluster (``ray start --head`` prints it); None: a local instance (or the one
            this process already started).
        storage: shared directory for the training directories (see the module docstring); None: the
            object store.
        resources: custom resources every task asks for besides one CPU (e.g. ``{"massbargain": 1}``: only
            nodes started with ``ray start --resources='{"massbargain": N}'`` run them, N at a time).
        max_retries: reruns of a task whose node or worker died.
    """
    ray = _import_ray()
    resources = dict(resources or {})
    started_here = not ray.is_initialized()
    if started_here:
        unreachable = _unreachable(address) if address else None
        if unreachable:
            raise RunError(
                f"cannot reach the Ray cluster at {address!r} ({unreachable}); is 'ray start --head' running there, "
                "and is the address its GCS address (HOST:6379)?"
            )
        try:
            if address:
                ray.init(address=address, log_to_driver=False)
            else:
                ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False)
        except (ConnectionError, TimeoutError, RuntimeError) as exc:
            where = f"the Ray cluster at {address!r}" if address else "a local Ray instance"
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            hint = " (is 'ray start --head' running there?)" if address else ""
            raise RunError(f"cannot connect to {where}{hint}: {reason}") from exc
    in_flight: dict[Any, Any] = {}
    try:
        _check_resources(ray, resources)
        staging = _staging_dir(storage, out) if keep and storage is not None else None
        task = ray.remote(_task).options(
            num_cpus=1, resources=resources, max_retries=max_retries, retry_exceptions=False
        )
        limit = workers or len(pending)
        queue = list(pending)
        while queue or in_flight:
            while queue and len(in_flight) < limit:
                r = queue.pop(0)
                ref = task.remote(fn, dict(r.config), r.seed, r.run_id, keep, None if staging is None else str(staging))
                in_flight[ref] = r
            ready, _ = ray.wait(list(in_flight), num_returns=1)
            for ref in ready:
                run = in_flight.pop(ref)
                outcome = _result(ray, ref, run.run_id, max_retries)
                _commit(out, run.run_id, outcome)
                record(run, outcome)
                if bar is not None:
                    bar.update(1)
        if staging is not None:
            _remove_staging(staging)
    except BaseException:
        for ref in in_flight:
            ray.cancel(ref, force=True)
        raise
    finally:
        if started_here:
            ray.shutdown()


def _result(ray: Any, ref: Any, run_id: str, max_retries: int) -> Outcome:
    """The task's outcome; a run's own user error as UserError, a task lost beyond its retries as UserError."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as exc:
        if isinstance(exc.cause, UserError):
            raise type(exc.cause)(str(exc.cause)) from None
        raise
    except ray.exceptions.RayError as exc:  # its node or worker died more than max_retries times
        raise UserError(
            f"run {run_id} was lost on the cluster ({type(exc).__name__}) after {max_retries} retries; "
            "finished runs are kept: rerun the same command to resume"
        ) from None
