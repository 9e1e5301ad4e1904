app_name = "volumes"
urlpatterns: list = []
