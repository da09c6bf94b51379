# The runner image of the scheduled resilience jobs (`peerchaos jobs`): the `chaos` and
# `peerchaos` commands, the experiments and the workloads, for the CronJob and for the
# KubeRay head and workers (Ray client needs the same Ray and Python on both sides).
#   docker build -t peerchaos:latest .
# Then push it where the cluster pulls from (or `kind load docker-image peerchaos:latest`).
FROM python:3.11-slim

# KubeRay's default readiness and liveness probes call wget inside the Ray containers.
RUN apt-get update \
    && apt-get install -y --no-install-recommends wget \
    && rm -rf /var/lib/apt/lists/*

# uid 1000: the pods run as it (runAsNonRoot), and their fsGroup 1000 owns /results.
RUN useradd --create-home --uid 1000 --user-group peerchaos

WORKDIR /app
COPY pyproject.toml README.md ./
COPY peerchaos/ peerchaos/
# The Ray version the RayCluster's rayVersion names (`peerchaos jobs --ray` writes the Ray
# of the machine it runs on); ray[default] brings the dashboard agent KubeRay's probes ask,
# ray[client] the server behind ray://.
ARG RAY_VERSION=2.60.0
RUN pip install --no-cache-dir . "ray[default,client]==${RAY_VERSION}"

# Data, not code: the experiments the CronJob runs and the templates peerchaos renders.
# A non-editable install cannot find them next to the package, hence the variables.
COPY experiments/ experiments/
COPY workloads/ workloads/
ENV PEERCHAOS_WORKLOADS=/app/workloads \
    PEERCHAOS_EXPERIMENTS=/app/experiments \
    PYTHONUNBUFFERED=1

USER 1000
CMD ["chaos", "--help"]
