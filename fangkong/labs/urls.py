from django.urls import path

from . import views

app_name = "labs"
urlpatterns = [
    path("upload/", views.upload, name="upload"),
    path("upload/<int:pk>/", views.upload_detail, name="upload_detail"),
    path("recalls/", views.recalls, name="recalls"),
    path("recalls/arrange/", views.recalls_arrange, name="recalls_arrange"),
    path("recalls/<int:pk>/cancel/", views.recall_cancel, name="recall_cancel"),
    path("rounds/", views.rounds, name="rounds"),
    path("rounds/<int:pk>/report/", views.report, name="report"),
    path("rounds/<int:pk>/flow/", views.flow, name="flow"),
]
