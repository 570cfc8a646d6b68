"""Reading /metrics as Prometheus would: the exposition parsed by prometheus_client."""

from django.test import Client
from django.urls import reverse
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-tests-0123456789"


def scrape(client: Client | None = None) -> dict[tuple[str, frozenset], float]:
    """Every sample of a scrape, by (name, labels)."""
    response = (client or Client()).get(reverse("metrics"), HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    assert response.status_code == 200, response.content
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


def value_or_zero(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)
