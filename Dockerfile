# One image for every EstateWatch component; the command picks the component.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY estatewatch ./estatewatch
COPY gateway ./gateway
COPY ingest ./ingest
COPY rules ./rules
COPY api ./api
COPY simulators ./simulators
COPY examples ./examples
RUN pip install . && useradd --system --home /var/lib/estatewatch estatewatch \
    && mkdir -p /var/lib/estatewatch && chown estatewatch /var/lib/estatewatch
USER estatewatch
WORKDIR /var/lib/estatewatch
ENTRYPOINT ["estatewatch"]
CMD ["--help"]
