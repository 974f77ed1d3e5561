from .access import scope_for
from .selectors import home_subject_code


def navigation(request):
    """Give templates what the navigation needs for the signed-in user's role."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        "nav_home_code": home_subject_code(user),
        "nav_can_import": user.can_import_data,
        "nav_can_edit_library": user.can_edit_library,
        "nav_sees_units": scope_for(user).sees_units,
    }
