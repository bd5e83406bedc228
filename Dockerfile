# The podkit worker image: CUDA runtime, Python 3.11 and podkit[worker], run as a non-root user.
#   docker build -t podkit-worker .
# CI pins the base by digest (podkit's CI part); every Python package is pinned in pyproject.toml.
# Python comes from uv's pinned standalone builds, so no apt packages are needed.
FROM ghcr.io/astral-sh/uv:0.5.11 AS uv

FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04

ENV DEBIAN_FRONTEND=noninteractive \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

COPY --from=uv /uv /usr/local/bin/uv
RUN uv python install 3.11.11 && uv venv --python 3.11.11 /opt/venv

WORKDIR /opt/podkit
COPY pyproject.toml README.md ./
COPY src ./src
RUN uv pip install --no-cache '.[worker]'

# Non-root by default. A network volume owned by root needs `--build-arg WORKER_USER=root`
# when the worker must write to it (sync_models).
ARG WORKER_USER=podkit
RUN useradd --create-home --uid 1000 podkit
USER ${WORKER_USER}
WORKDIR /tmp

CMD ["python", "-u", "-m", "podkit.worker"]
