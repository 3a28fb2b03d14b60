from django.urls import path

from . import views

app_name = "screening"
urlpatterns = [
    path("", views.tasks, name="tasks"),
    path("tasks/<int:pk>/", views.task, name="task"),
    path("tasks/<int:pk>/reach/", views.task_reach, name="task_reach"),
    path("tasks/<int:pk>/attempt/", views.task_attempt, name="task_attempt"),
    path("tasks/<int:pk>/control/", views.task_control, name="task_control"),
    path("tasks/<int:pk>/hand-over/", views.task_hand_over, name="task_hand_over"),
    path("people/<int:pk>/", views.person, name="person"),
    path("people/<int:pk>/status/", views.status_set, name="status_set"),
    path("residents/<int:resident>/", views.resident_track, name="resident_track"),
    path("found/", views.register, name="register"),
    path("hand-overs/", views.hand_overs, name="hand_overs"),
    path("hand-overs/<int:pk>/accept/", views.hand_over_accept, name="hand_over_accept"),
    path("campaigns/", views.campaigns, name="campaigns"),
    path("campaigns/launch/", views.campaign_launch, name="campaign_launch"),
    path("campaigns/<int:pk>/", views.campaign, name="campaign"),
    path("campaigns/<int:pk>/close/", views.campaign_close, name="campaign_close"),
    path("campaigns/<int:pk>/import/", views.answers_import, name="answers_import"),
    path("campaigns/<int:pk>/area/<str:code>/", views.coverage, name="coverage"),
    path("campaigns/<int:pk>/grid/<int:grid>/", views.grid_coverage, name="grid_coverage"),
    path("campaigns/<int:pk>/building/<str:code>/", views.building, name="building"),
    path("campaigns/<int:pk>/household/<int:household>/", views.screen, name="screen"),
    path("venues/", views.venues, name="venues"),
    path("venues/<int:pk>/", views.venue, name="venue"),
    path("exposure/", views.exposure, name="exposure"),
    path("exposure/case/<int:case>/run/", views.match_run, name="match_run"),
    path("exposure/runs/<int:pk>/", views.run, name="run"),
]
