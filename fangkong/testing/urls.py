from django.urls import path

from . import views, views_sampler

app_name = "testing"
urlpatterns = [
    path("", views.rounds, name="rounds"),
    path("rounds/launch/", views.round_launch, name="round_launch"),
    path("rounds/<int:pk>/", views.round_detail, name="round"),
    path("rounds/<int:pk>/edit/", views.round_edit, name="round_edit"),
    path("rounds/<int:pk>/close/", views.round_close, name="round_close"),
    path("rounds/<int:pk>/coverage/<str:code>/", views.coverage, name="coverage"),
    path("rounds/<int:pk>/grid/<int:grid>/", views.grid_coverage, name="grid_coverage"),
    path("rounds/<int:pk>/unsampled/<str:code>/", views.unsampled, name="unsampled"),
    path("rounds/<int:pk>/exempt/<int:resident>/", views.exemption_grant, name="exemption_grant"),
    path("exemptions/<int:pk>/end/", views.exemption_end, name="exemption_end"),
    path("rounds/<int:pk>/tasks/", views.tasks, name="tasks"),
    path("rounds/<int:pk>/tasks/generate/", views.tasks_generate, name="tasks_generate"),
    path("rounds/<int:pk>/tasks/<str:code>/assign/", views.tasks_assign, name="tasks_assign"),
    path("tasks/mine/", views.my_tasks, name="my_tasks"),
    path("tasks/<int:pk>/close/", views.task_close, name="task_close"),
    path("tasks/<int:pk>/cancel/", views.task_cancel, name="task_cancel"),
    path("sites/<str:code>/", views.sites, name="sites"),
    path("site/<int:pk>/status/", views.site_status, name="site_status"),
    path("site/<int:pk>/channel/", views.channel_add, name="channel_add"),
    path("channel/<int:pk>/status/", views.channel_status, name="channel_status"),
    path("sampler/", views_sampler.sampler, name="sampler"),
    path("sampler/sw.js", views_sampler.service_worker, name="sampler_sw"),
]
