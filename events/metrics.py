"""What this process counts for Prometheus as it works (the endpoint, its collector of the
database's and the broker's state, and the request middleware are in config/metrics.py).

Counts live in the process that made them; with several processes on a machine (gunicorn's
workers), PROMETHEUS_MULTIPROC_DIR makes prometheus_client keep them in files there that any
of the processes adds up when scraped (see README, Production)."""

from prometheus_client import Counter

SIGN_UPS = Counter(
    "feedback_sign_ups",
    "Sign-ups handled (the sign-up page and accepted invitations), by outcome: the new "
    "registration's state, or refused.",
    ["outcome"],
)


def sign_up(outcome: str) -> None:
    SIGN_UPS.labels(outcome=outcome).inc()
