"""ECL as a service: the HTTP API (FastAPI, served by uvicorn with ``ecl server start``).

``app`` builds the application; ``keys`` reads the hashed API keys; ``runs`` and
``definitions`` are the endpoints; ``health`` and ``metrics`` are for operators;
``errors`` gives every error one shape.
"""
