"""Background work of the people app, run by `fangkong db_worker`."""

from django_tasks import task


@task()
def roster_import(job_id: int) -> None:
    """Run a queued roster import. A job another worker has claimed is left alone."""
    from .roster.importing import roster_import_run

    roster_import_run(job_id=job_id)
