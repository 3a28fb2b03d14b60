"""Background work of the screening app, run by `fangkong db_worker`."""

from django_tasks import task


@task()
def match_run(run_id: int) -> None:
    """Run a queued match. One another worker has claimed is left alone."""
    from .services import match_run_execute

    match_run_execute(run_id=run_id)


@task()
def scans_flush() -> None:
    """Write staged venue-scan batches to the analytics store (two at once share work)."""
    from .services import scans_flush as flush

    flush()
