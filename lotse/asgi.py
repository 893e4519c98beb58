"""The ASGI entry point for uvicorn or any other server: ``uvicorn lotse.asgi:app``."""

from lotse.app import create_app

app = create_app()
