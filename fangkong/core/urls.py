from django.urls import path

from . import views, views_admin, views_notifications

app_name = "core"
urlpatterns = [
    path("", views.home, name="home"),
    path("audit/", views.audit_log, name="audit"),
    path("manage/", views_admin.administration, name="administration"),
    path("policies/", views_admin.policy_list, name="policies"),
    path("policies/<str:key>/", views_admin.policy_detail, name="policy"),
    path("healthz", views.healthz, name="healthz"),
    path("notifications/", views_notifications.inbox, name="notifications"),
    path("notifications/read", views_notifications.read, name="notifications_read"),
    path("notifications/stream", views_notifications.stream, name="notifications_stream"),
]
