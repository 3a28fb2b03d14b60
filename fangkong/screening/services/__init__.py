"""Every write of the screening domain: keyword-only, `actor=`, atomic, authorized at the
top (fangkong.core.guards) and audited in the same transaction.

One module a concern; import them from here:

- `status`: tracked people (residents and people found) and their control statuses;
- `tracing`: trace tasks ("2+6"): raise and merge, reach, attempts, control, hand-over,
  escalation of overdue tasks;
- `campaigns`: household screening campaigns (摸排), visits and answers, spreadsheets;
- `venues`: venues and their signed codes; venue-scan batches to the analytics store;
- `matching`: match runs: a case's window through the exposure matcher into tasks.
"""

from .campaigns import (  # noqa: F401
    AnswerIn,
    answers_import,
    campaign_close,
    campaign_launch,
    household_screen,
)
from .matching import (  # noqa: F401
    FoundContact,
    contacts_to_tasks,
    match_run_execute,
    match_run_start,
)
from .status import person_for_resident, person_register, status_set  # noqa: F401
from .tracing import (  # noqa: F401
    hand_over_accept,
    person_found,
    task_attempt,
    task_control,
    task_create,
    task_hand_over,
    task_reach,
    tasks_escalate,
)
from .venues import (  # noqa: F401
    identities_prune,
    scans_flush,
    scans_import,
    scans_receive,
    venue_create,
    venue_qr,
)
