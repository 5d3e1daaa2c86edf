# The lbdemo image: one image, two roles: a replica (the default) or the PostgreSQL store.
#
#   docker build -t lbdemo/app .                                        # a base from a registry
#   docker build --build-arg BASE=lbdemo/base:bookworm -t lbdemo/app .  # scripts/build-base-image
#
#   docker run IMAGE replica --name r1      # lbdemo.replica on 0.0.0.0:8000, $LBDEMO_STORE_DSN
#   docker run IMAGE store                  # PostgreSQL on 0.0.0.0:5432, data in /var/lib/lbdemo/pgdata
#   docker run IMAGE lbdemo --version       # anything else runs as given
#
# The password reaches both roles through the environment, never the command line: $PGPASSWORD,
# or $LBDEMO_STORE_PASSWORD_FILE naming a file (a bind-mounted secret). See docs/docker.md.
#
# With a wheelhouse/ directory in the build context (what `lbdemo image build` assembles), every
# package comes from it and no package index is asked; without one, pip uses the index.
ARG BASE=python:3.11-slim

# The dependencies in a stage of their own: its layers stay cached while only the source changes,
# and the wheels never reach the final image.
FROM ${BASE} AS deps
# A directory matched by the wildcard is copied by its content: the wheels land beside pyproject.
COPY pyproject.toml wheelhouse* /src/
RUN set -eu; \
    if ls /src/*.whl >/dev/null 2>&1; then source="--no-index --find-links /src"; else source=""; fi; \
    python3 -c 'import tomllib; p = tomllib.load(open("/src/pyproject.toml", "rb")); \
print("\n".join(p["build-system"]["requires"] + p["project"]["dependencies"]))' \
        > /src/requirements.txt; \
    python3 -m venv /opt/lbdemo; \
    /opt/lbdemo/bin/pip install --no-cache-dir --disable-pip-version-check --quiet $source \
        -r /src/requirements.txt

# The project itself as a wheel, built the way any install builds it (not editable): the Locust
# workload and the pages' assets reach the image as the wheel's package data, as on a user's
# machine. A stage of its own, so the build tools' output never reaches the final image.
FROM deps AS wheel
COPY pyproject.toml README.md /src/lbdemo/
COPY lbdemo /src/lbdemo/lbdemo
RUN /opt/lbdemo/bin/pip wheel --no-cache-dir --disable-pip-version-check --quiet \
        --no-index --no-deps --no-build-isolation --wheel-dir /dist /src/lbdemo

FROM ${BASE}
ENV PATH=/opt/lbdemo/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
# PostgreSQL refuses to run as root: everything runs as lbdemo (a fixed uid, so a host can give
# a bind-mounted secret to it). The directories the containers write are made here, owned by it:
# a named volume mounted on /var/lib/lbdemo/pgdata takes that owner and mode when first used.
RUN groupadd --gid 10001 lbdemo \
    && useradd --uid 10001 --gid lbdemo --home-dir /var/lib/lbdemo --no-create-home \
        --shell /usr/sbin/nologin lbdemo \
    && mkdir -p /var/lib/lbdemo/pgdata /etc/catalog /var/log/catalog \
    && chown lbdemo:lbdemo /var/lib/lbdemo /var/lib/lbdemo/pgdata /etc/catalog /var/log/catalog \
    && chmod 0700 /var/lib/lbdemo/pgdata
COPY --from=deps /opt/lbdemo /opt/lbdemo
# pip compiles the package's bytecode as it installs the wheel.
COPY --from=wheel /dist /tmp/dist
RUN pip install --no-cache-dir --disable-pip-version-check --quiet --no-index --no-deps \
        /tmp/dist/lbdemo-*.whl \
    && rm -rf /tmp/dist
USER lbdemo
WORKDIR /var/lib/lbdemo
EXPOSE 8000 5432
ENTRYPOINT ["python", "-m", "lbdemo.docker.entry"]
CMD ["replica"]
