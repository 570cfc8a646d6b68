from celery import shared_task


@shared_task
def purge_farewells() -> int:
    """Hourly: CANCELs kept for deleted accounts leave the outbox once done."""
    from . import services

    return services.purge_farewells()


@shared_task
def purge_account_mail() -> int:
    """Hourly: allauth's messages leave the outbox once sent, or once their links expired."""
    from . import services

    return services.purge_account_mail()
