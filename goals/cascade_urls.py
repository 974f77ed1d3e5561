"""cascade pages and API routes (goals app)."""

urlpatterns: list = []
api_urlpatterns: list = []
