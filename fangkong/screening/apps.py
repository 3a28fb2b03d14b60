from django.utils.translation import gettext_lazy as _

from fangkong.core.registry import FangkongApp


class ScreeningConfig(FangkongApp):
    name = "fangkong.screening"
    label = "screening"
    verbose_name = _("Screening and exposure")
