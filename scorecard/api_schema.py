"""The API schema class: drf-spectacular's, with the error answers views leave out declared.

Its own module: drf-spectacular's openapi module imports DRF's views, which
read the settings' authentication classes (api_base) as they load.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.authentication import SessionScheme

from .api_base import SessionAuthentication


class SessionAuthenticationScheme(SessionScheme):
    """Describe the 401-challenge subclass in the schema as drf-spectacular describes DRF's own (the session cookie)."""

    target_class = SessionAuthentication


_DETAIL = {"type": "object", "properties": {"detail": {"type": "string"}}, "required": ["detail"]}
_BY_FIELD = {
    "type": "object",
    "additionalProperties": {"oneOf": [{"type": "array", "items": {}}, {"type": "string"}, {"type": "object"}]},
    "description": "Messages by field (`non_field_errors` or `__all__` for the request as a whole).",
}
_ERRORS = {
    "400": ("Bad parameters or body: messages by field; nothing was saved.", _BY_FIELD),
    "401": ("Not signed in, or bad basic-auth credentials (see the WWW-Authenticate header).", _DETAIL),
    "403": ("The caller's role may not do this, or a session request came without its CSRF token.", _DETAIL),
    "404": ("No such object, or one outside the caller's view (the two are not told apart).", _DETAIL),
    "415": ("The body's Content-Type is not one the operation reads.", _DETAIL),
    "429": ("Too many requests: try again after the Retry-After header's seconds.", _DETAIL),
}


class AutoSchema(openapi.AutoSchema):
    """drf-spectacular's schema, with the error answers an endpoint can give declared where its view did not.

    Every operation may answer 403 and 404 (objects outside the caller's
    view answer 404, and so do whole endpoints a role may not open); 401
    where a login is needed; 400 where the operation reads query parameters
    or a body, and 415 where it reads a body; 429 where it is throttled.
    Declared answers of the view win.
    """

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        codes = ["403", "404"]
        if any(p.get("in") == "query" for p in operation.get("parameters", [])) or "requestBody" in operation:
            codes.append("400")
        if "requestBody" in operation:
            codes.append("415")
        if {} not in operation.get("security", [{}]):
            codes.append("401")
        if getattr(self.view, "throttle_scope", None) or getattr(self.view, "throttle_classes", None):
            codes.append("429")
        responses = operation.setdefault("responses", {})
        for code in sorted(codes):
            if code not in responses:
                description, schema = _ERRORS[code]
                responses[code] = {"content": {"application/json": {"schema": schema}}, "description": description}
        return operation
