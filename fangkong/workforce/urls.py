from django.urls import path

from . import views, views_numbers, views_phone

app_name = "workforce"
urlpatterns = [
    path("", views.home, name="home"),
    # A worker's phone pages.
    path("register/", views_phone.register, name="register"),
    path("me/", views_phone.me, name="me"),
    path("me/unavailable/", views_phone.unavailable, name="unavailable"),
    path("report-in/", views_phone.report_in, name="report_in"),
    path("duty/", views_phone.duty, name="duty"),
    path("duty/sw.js", views_phone.duty_service_worker, name="duty_sw"),
    path("callouts/<int:pk>/answer/", views_phone.callout_answer, name="callout_answer"),
    # Offices and liaisons.
    path("workers/", views.workers, name="workers"),
    path("workers/<int:pk>/", views.worker, name="worker"),
    path("workers/<int:pk>/status/", views.worker_status, name="worker_status"),
    path("enrol/", views.bulk_enrol, name="bulk"),
    path("report-ins/", views.enrollments, name="enrollments"),
    path("report-ins/<int:pk>/decide/", views.enrollment_decide, name="enrollment_decide"),
    path("report-ins/<str:code>/confirm-all/", views.enrollments_confirm_all, name="confirm_all"),
    path("communities/<str:code>/code/", views.community_code, name="community_code"),
    path("teams/", views.teams, name="teams"),
    path("teams/<int:pk>/", views.team, name="team"),
    path("branches/<int:pk>/", views.branch, name="branch"),
    path("requests/", views.requests, name="requests"),
    path("requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
    path("runs/", views.allocation_run, name="allocation_run"),
    path("runs/<int:pk>/", views.run, name="run"),
    path("runs/<int:pk>/decide/", views.run_decide, name="run_decide"),
    path("seats/<int:pk>/", views.seat_adjust, name="seat_adjust"),
    path("posts/", views.posts, name="posts"),
    path("posts/<int:pk>/", views.post, name="post"),
    path("posts/<int:pk>/code/", views.post_code, name="post_code"),
    path("substitutions/", views.substitutions, name="substitutions"),
    path("callouts/", views.callouts, name="callouts"),
    path("callouts/<int:pk>/", views.callout, name="callout"),
    path("numbers/", views_numbers.numbers, name="numbers"),
    path("numbers.xlsx", views_numbers.numbers_xlsx, name="numbers_xlsx"),
]
