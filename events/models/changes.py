"""`updated_at` that every writer moves, for the API's incremental sync (`updated_since`).

`auto_now` is applied by `Model.save()` only: a QuerySet `.update()` (the conditional UPDATEs
the services are made of) and a `save(update_fields=[...])` that does not name the field both
leave it behind, and a client syncing by `updated_since` would never see those changes. A model
mixing in `StampsChanges` gets both paths stamped, so no service can forget; raw SQL on such a
table (the seat counter, `services.seats`) sets the column itself."""

from typing import Any

from django.db import models
from django.utils import timezone


class StampedQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        kwargs.setdefault("updated_at", timezone.now())
        return super().update(**kwargs)


class StampsChanges(models.Model):
    """For a model with `updated_at = DateTimeField(auto_now=True)` that the API syncs."""

    objects = models.Manager.from_queryset(StampedQuerySet)()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        fields = kwargs.get("update_fields")
        if fields is not None and "updated_at" not in fields:
            kwargs["update_fields"] = [*fields, "updated_at"]
        super().save(*args, **kwargs)
