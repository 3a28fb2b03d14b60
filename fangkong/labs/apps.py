from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp, Nav


class LabsConfig(FangkongApp):
    name = "fangkong.labs"
    label = "labs"
    verbose_name = _("Lab results and recalls")
    url_prefix = "labs/"
    api_prefix = "/labs"
    nav = (
        Nav(_("Upload results"), "labs:upload", "labs.upload_results", order=50),
        Nav(_("Recalls"), "labs:recalls", "labs.read_recalls", order=60),
        Nav(_("Round report"), "labs:rounds", "labs.read_round_report", order=70),
    )
    context_processors = ("fangkong.labs.context_processors.recalls",)
    demo_steps = (("demo_results", "--if-empty"),)
    token_scopes = {
        "results": [
            ("POST", "api/v1/labs/results"),
            ("POST", "api/v1/labs/results/file"),
            ("GET", "api/v1/labs/uploads/<upload_id>"),
            ("GET", "api/v1/labs/tubes/<barcode>"),
            ("GET", "api/v1/labs/rounds/<round_id>/turnaround"),
        ]
    }
