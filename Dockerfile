# The ECL code location, also used for the webserver and the daemon (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home

WORKDIR /opt/ecl
COPY pyproject.toml README.md ./
COPY ecl_core ./ecl_core
COPY ecl_dagster ./ecl_dagster
COPY prompts ./prompts
COPY workflows ./workflows
COPY examples ./examples
COPY deploy ./deploy
# The k8s extra (dagster-k8s) serves deploy/helm; compose does not need it and ignores it.
RUN pip install --no-cache-dir -e ".[k8s]" \
    && mkdir -p "$DAGSTER_HOME" \
    && cp deploy/postgres/dagster.yaml "$DAGSTER_HOME/dagster.yaml"

EXPOSE 4000
# The same command as ecl_dagster.stack.services.code_server("0.0.0.0", 4000).
CMD ["dagster", "code-server", "start", "-m", "ecl_dagster", "-h", "0.0.0.0", "-p", "4000"]
