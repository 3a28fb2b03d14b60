"""Background work of the labs app, run by `fangkong db_worker`."""

from django_tasks import task


@task()
def results_upload(upload_id: int) -> None:
    """Store a queued results file. One another worker has claimed is left alone."""
    from .services import results_upload_run

    results_upload_run(upload_id=upload_id)
