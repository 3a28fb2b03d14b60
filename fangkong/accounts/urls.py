from django.contrib.auth import views as auth_views
from django.urls import path

from . import views_admin
from .views import LoginView

app_name = "accounts"
urlpatterns = [
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("users/", views_admin.users, name="users"),
    path("users/new/", views_admin.user_new, name="user_new"),
    path("users/import/", views_admin.user_import, name="user_import"),
    path("users/<int:pk>/", views_admin.user_detail, name="user"),
]
