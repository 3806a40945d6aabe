# lineocr serve: the HTTP API and web page with the bundled models.
# Runtime and serve extras only: ONNX Runtime runs the models, no PyTorch in the image.
#   docker build -t lineocr .
#   docker run --rm -p 127.0.0.1:8000:8000 lineocr        # then open http://127.0.0.1:8000/
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# -- build: a virtual environment with lineocr[serve] and nothing else ----------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m venv /opt/lineocr \
    && /opt/lineocr/bin/pip install --no-cache-dir ".[serve]" \
    && /opt/lineocr/bin/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is not None)"

# -- runtime: the environment, an unprivileged user, a health check -------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="lineocr" \
      org.opencontainers.image.description="Text-line OCR: HTTP API and web page (ONNX Runtime)" \
      org.opencontainers.image.licenses="Apache-2.0"
# DejaVu Sans: the searchable PDF's text layer (POST /v1/documents/pdf, the page's PDF).
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core=2.37-6 \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 lineocr \
    && useradd --system --uid 10001 --gid lineocr --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin lineocr
COPY --from=build /opt/lineocr /opt/lineocr
ENV PATH=/opt/lineocr/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    LINEOCR_SERVE_HOST=0.0.0.0 \
    LINEOCR_SERVE_PORT=8000
USER 10001:10001
WORKDIR /tmp
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('LINEOCR_SERVE_PORT', '8000'), timeout=4)"]
# SIGTERM: uvicorn stops accepting, finishes in-flight requests, then the batcher drains.
STOPSIGNAL SIGTERM
CMD ["lineocr", "serve"]
