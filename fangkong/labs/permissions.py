"""What the labs app lets roles do."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role
from fangkong.core.sight import sight

_REPORT_READERS = {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.INSPECTOR}
_NEIGHBOURHOOD = {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING}

# What the roles may see here (core.sight). A lab works on tubes: it sees which of its
# tubes were recalled and resampled, never who was in them nor where they live.
RESULTS = sight(
    "labs.results",
    _NEIGHBOURHOOD | {Role.LAB, Role.INSPECTOR},
    "Tubes and their results: barcodes, pools, results, uploads, turnaround, recalls by "
    "tube and status (a recall's community, not its building)",
    where="/labs/upload/, /labs/recalls/, GET /api/v1/labs/recalls, turnaround",
)
RECALLED_PEOPLE = sight(
    "labs.recalled_people",
    _NEIGHBOURHOOD,
    "Who is recalled or positive: name, masked numbers, address; the marked buildings",
    where="/labs/recalls/, GET /api/v1/labs/recalls, the marked-buildings banner",
)

can_upload_results = permission(
    "labs.upload_results",
    {Role.LAB},
    "Upload tube results (file or API) for tubes within one's jurisdiction.",
)
can_read_recalls = permission(
    "labs.read_recalls",
    _NEIGHBOURHOOD | {Role.LAB},
    "Recalls and positive cases of one's jurisdiction; marked buildings (a lab: by tube, "
    "no people).",
)
can_manage_recalls = permission(
    "labs.manage_recalls",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID},
    "Arrange a recall's resample (at home or a site) or cancel it with a reason.",
)
can_rule_out_cases = permission(
    "labs.rule_out_cases",
    {Role.COMMAND},
    "Turn a positive case back after review (复核排除), with a reason on record.",
)
can_read_round_report = permission(
    "labs.read_round_report",
    _REPORT_READERS,
    "The round report, throughput and the pool-size advisor; .xlsx export.",
)
can_read_turnaround = permission(
    "labs.read_turnaround",
    _REPORT_READERS | {Role.LAB},
    "Result turnaround and overdue tubes.",
)
