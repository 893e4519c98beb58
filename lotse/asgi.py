"""The ASGI entry point for uvicorn or any other server: ``uvicorn lotse.asgi:app``."""

import os

from lotse.app import create_app

# `lotse serve --no-access-log` reaches its worker processes through the environment.
app = create_app(access_log=os.environ.get("LOTSE_ACCESS_LOG", "1") != "0")
