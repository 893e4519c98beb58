"""``lotse serve`` for a load test: started in its own process group with its output in a log
file, waited for until it answers, and stopped again whatever happens."""

import contextlib
import os
import signal
import subprocess
import tempfile
import time
import urllib.error
from collections.abc import Callable, Iterator
from pathlib import Path

from bench.harness import Progress


@contextlib.contextmanager
def lotse_serve(
    command: list[str],
    *,
    env: dict[str, str],
    ready: Callable[[], bool],
    say: Progress,
    log_prefix: str,
    cwd: Path | None = None,
    keep_log: bool = False,
) -> Iterator[str]:
    """Run ``command``, wait up to 90 s until ``ready()`` is true, yield the log's path; the log
    is removed afterwards unless ``keep_log``."""
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - open while the server runs
        "w+", prefix=log_prefix, suffix=".log", delete=False
    )
    server = subprocess.Popen(
        command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    say(f"lotse serve started (pid {server.pid}), waiting for it to answer")
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                log.seek(0)
                raise RuntimeError("lotse serve exited:\n" + log.read()[-3000:])
            with contextlib.suppress(urllib.error.URLError, ConnectionError, TimeoutError):
                if ready():
                    break
            if time.monotonic() > deadline:
                raise RuntimeError("lotse serve did not answer within 90 s")
            time.sleep(0.5)
        yield log.name
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        if not keep_log:
            os.unlink(log.name)
        say("server stopped")
