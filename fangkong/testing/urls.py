from django.urls import path

from . import views_sampler

app_name = "testing"
urlpatterns = [
    path("sampler/", views_sampler.sampler, name="sampler"),
    path("sampler/sw.js", views_sampler.service_worker, name="sampler_sw"),
]
