# syntax=docker/dockerfile:1
# Build stage: a wheel and its dependencies in a virtualenv.
FROM python:3.11-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN /opt/venv/bin/pip install .

# Runtime stage: slim, non-root, tini as PID 1, data on a volume.
FROM python:3.11-slim AS runtime
RUN apt-get update && apt-get install -y --no-install-recommends tini \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system ims && useradd --system --gid ims --home-dir /var/lib/imschart ims \
    && mkdir -p /var/lib/imschart/data && chown -R ims:ims /var/lib/imschart
COPY --from=build /opt/venv /opt/venv
ENV PATH="/opt/venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    IMS_DATA_DIR=/var/lib/imschart/data
WORKDIR /var/lib/imschart
USER ims
VOLUME ["/var/lib/imschart/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["imschart", "serve", "--host", "0.0.0.0", "--port", "8000"]
