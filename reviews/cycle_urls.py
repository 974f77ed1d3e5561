"""cycle pages and API routes (reviews app)."""

urlpatterns: list = []
api_urlpatterns: list = []
