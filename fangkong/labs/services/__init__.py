"""Every write of lab results, recalls and positive cases. Keyword-only, `actor=`, audited.

Storing results (`results_import`) is the busy path: a file of a million rows goes in
by chunks, each chunk one transaction that stores its results, raises and closes the
recalls they call for and adds to the tallies, so what a chunk did is seen at once and
a crash loses nothing that a retry would not redo. Rules, in order of the row:

- a barcode no tube has, or a tube outside the lab's jurisdiction: the row is refused
  (`unknown_tube`), named by row and column; the other rows still go in;
- a tube with no result yet: stored;
- the same result again: nothing changes (`unchanged`): retries and overlapping files
  are safe;
- a different result: refused (`differs`) unless the row gives a reason, in which case
  it is a correction: the old value is kept in `ResultCorrection`, recalls and cases
  that the old value raised are cancelled or ruled out with that reason, and what the
  new value calls for is raised.

What a stored result calls for, by the samples in its tube:

- a tube holding one known person (a single tube, whatever pool size it was opened
  with): negative closes that person's open recalls raised before the sample was taken;
  positive makes them a `PositiveCase` and closes those recalls as positive; invalid
  recalls them;
- a tube of several people, positive or invalid: a `Recall` for each member (an
  unidentified member too, for review), which marks their building at once;
- a tube whose samples have not arrived yet: nothing now; `recalls_reconcile` raises
  the recalls when they do (run by `labs_refresh`).

The package, by meaning: `results` (imports, uploads), `storing` (one chunk, on either
database), `consequences` (what a result calls for), `recalls` (by hand), `upkeep`
(background). Callers import from the package: `from fangkong.labs import services`.
"""

from ._common import ImportOutcome, lab_names
from .recalls import case_rule_out, recall_cancel, recalls_arrange
from .results import (
    results_batch_store,
    results_import,
    results_upload_run,
    results_upload_submit,
    results_uploads_reap,
    upload_fail,
    upload_finish,
)
from .upkeep import overdue_refresh, recalls_reconcile, sampling_tally_refresh

__all__ = [
    "ImportOutcome",
    "case_rule_out",
    "lab_names",
    "overdue_refresh",
    "recall_cancel",
    "recalls_arrange",
    "recalls_reconcile",
    "results_batch_store",
    "results_import",
    "results_upload_run",
    "results_upload_submit",
    "results_uploads_reap",
    "sampling_tally_refresh",
    "upload_fail",
    "upload_finish",
]
