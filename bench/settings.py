"""The product's settings, serving one extra route: the ceiling the ingest figures are read against.

Used only by the benchmark's server (DJANGO_SETTINGS_MODULE=bench.settings); every other
setting, middleware and the whole product URL tree are the product's own.
"""

from config.settings import *  # noqa: F403
from config.settings import env

ROOT_URLCONF = "bench.urls"

# Echoed by the ceiling route so the benchmark can tell that the server answering is the
# one it started, not a leftover on the same port.
BENCH_RUN_ID = env.str("BENCH_RUN_ID", default="")
