"""A real uvicorn server in a thread of the test process (for apps built in the test)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from tests.support.servers import free_port, wait_until


@contextmanager
def running(app: Any, read_timeout_s: float = 30.0) -> Iterator[str]:
    """Serve `app` on 127.0.0.1 with mloop's uvicorn options; yields its base URL."""
    import uvicorn

    from mloop.serving.server.timeouts import uvicorn_options

    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on",
                            access_log=False, **uvicorn_options(read_timeout_s))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=30, what="uvicorn in a thread")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
