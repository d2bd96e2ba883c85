# The example project's production image: its requirements in a venv at /opt/venv, run as `app`.
#
# Build context (written by `expenv images build` / devcontainer/scripts/build-images.sh):
#   requirements.txt   the project's pipelines/requirements.txt
#   wheels/            a wheelhouse made on the host (`pip wheel -r requirements.txt`); when it
#                      holds wheels the install is offline (--no-index), else pip uses the index
#   ca-certificates/   the host's extra CA certificates (corporate TLS proxy), trusted only while
#                      installing: they live in the build stage, not in the production image
ARG BASE_IMAGE=expenv-base:bookworm

FROM ${BASE_IMAGE} AS build
COPY ca-certificates/ /usr/local/share/ca-certificates/expenv-build/
RUN update-ca-certificates >/dev/null 2>&1 || true
COPY requirements.txt /tmp/build/requirements.txt
COPY wheels/ /tmp/build/wheels/
RUN set -eu; \
    python3 -m venv /opt/venv; \
    if ls /tmp/build/wheels/*.whl >/dev/null 2>&1; then from="--no-index --find-links /tmp/build/wheels"; \
    else from=""; fi; \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
      /opt/venv/bin/pip install --no-cache-dir --quiet $from -r /tmp/build/requirements.txt; \
    # What was resolved: the lock of this image (the devcontainer installs its tools against it).
    /opt/venv/bin/pip list --format=freeze > /opt/venv/requirements.lock

FROM ${BASE_IMAGE}
RUN useradd --create-home --uid 1000 --user-group --shell /bin/bash app
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    VIRTUAL_ENV=/opt/venv \
    PYTHONUNBUFFERED=1
LABEL org.expenv.python=/opt/venv/bin/python
USER app
WORKDIR /home/app
CMD ["python"]
