"""Settings shared by the whole suite."""

from hypothesis import HealthCheck, settings

# Property tests check what the code does, not how fast it does it on a busy machine: speed is
# measured by the benchmarks in bench/. Hypothesis's default 200 ms deadline per example made
# tests fail at random when another process held the CPU, so it is off for every property test.
settings.register_profile("newsbot", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("newsbot")
