from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp


class WorkforceConfig(FangkongApp):
    name = "fangkong.workforce"
    label = "workforce"
    verbose_name = _("Workforce")
