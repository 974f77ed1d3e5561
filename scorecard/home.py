"""The home page: what waits for me and by when, and the pages my role works with."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import permissions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from .selectors import home_subject_code
from .todos import todo_count, todos_for


@login_required
def home_page(request: HttpRequest) -> HttpResponse:
    """The signed-in user's to-do list and the links of their role."""
    todos = todos_for(request.user)
    return render(request, "scorecard/home.html", {
        "todos": todos,
        "total": sum(t.count for t in todos),
        "home_code": home_subject_code(request.user),
        "nav_todo_count": sum(t.count for t in todos),
    })


@never_cache
@login_required
def todo_count_view(request: HttpRequest) -> JsonResponse:
    """The number shown beside "To do" in the navigation (fetched after the page, so pages keep their queries)."""
    return JsonResponse({"count": todo_count(request.user)})


class TodoListApi(APIView):
    """What waits for the signed-in user, soonest deadline first."""

    permission_classes = [permissions.IsAuthenticated]

    class OutputSerializer(serializers.Serializer):
        key = serializers.CharField()
        label = serializers.CharField()
        count = serializers.IntegerField()
        url = serializers.CharField()
        due = serializers.SerializerMethodField()
        late = serializers.BooleanField()
        items = inline_serializer("TodoItem", {
            "label": serializers.CharField(), "url": serializers.CharField(), "note": serializers.CharField(),
        }, many=True)

        def get_due(self, todo) -> str | None:
            return todo.due.isoformat() if todo.due else None

    @extend_schema(responses=OutputSerializer(many=True))
    def get(self, request):
        return Response(self.OutputSerializer(todos_for(request.user), many=True).data)
