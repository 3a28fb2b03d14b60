from django.urls import path

from . import views, views_admin, views_codes, views_roster

app_name = "people"
urlpatterns = [
    path("", views.search, name="search"),
    path("mine/", views_codes.mine, name="mine"),
    path("<int:pk>/code/", views_codes.resident_code, name="code"),
    path("codes/building/<str:code>/", views_codes.building_stickers, name="building_codes"),
    path("<int:pk>/", views.detail, name="detail"),
    path("<int:pk>/reveal/", views.reveal, name="reveal"),
    path("<int:pk>/edit/", views_admin.edit, name="edit"),
    path("register/", views_admin.register, name="register"),
    path("tags/", views_admin.tags, name="tags"),
    path("handovers/", views_admin.handovers, name="handovers"),
    path("handovers/new/", views_admin.handover_new, name="handover_new"),
    path("handovers/<int:pk>/", views_admin.handover, name="handover"),
    path("import/", views_roster.import_page, name="import"),
    path("import/<int:pk>/", views_roster.import_status, name="import_status"),
    path("import/<int:pk>/report.xlsx", views_roster.import_report, name="import_report"),
    path("export/", views_roster.export, name="export"),
]
