"""What the labs app lets roles do."""

from fangkong.core.permissions import permission
from fangkong.core.roles import Role

_REPORT_READERS = {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.INSPECTOR}

can_upload_results = permission(
    "labs.upload_results",
    {Role.LAB},
    "Upload tube results (file or API) for tubes within one's jurisdiction.",
)
can_read_recalls = permission(
    "labs.read_recalls",
    {Role.COMMAND, Role.STREET, Role.COMMUNITY, Role.GRID, Role.BUILDING, Role.LAB},
    "Recalls and positive cases of one's jurisdiction; marked buildings.",
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
