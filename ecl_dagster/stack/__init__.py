"""ECL's deployment topology as plain processes on one machine.

Postgres, code server, webserver and daemon: the services docker-compose.yml runs in
containers, started here without Docker (``python -m ecl_dagster.stack.local``).
"""
