"""360 feedback pages and API routes (reviews app): raters, answers, customer links, results, questionnaires."""

from django.urls import path

from . import feedback_apis as apis
from . import feedback_views as views

urlpatterns = [
    path("feedback/", views.feedback_inbox_page, name="feedback-inbox"),
    path("feedback/<int:pk>/", views.feedback_answer_page, name="feedback-answer"),
    path("feedback/t/<str:token>/", views.feedback_token_page, name="feedback-token"),
    path("feedback/requests/<int:pk>/decide/", views.feedback_decide_page, name="feedback-decide"),
    path("appraisals/<int:pk>/feedback/", views.appraisal_feedback_page, name="appraisal-feedback"),
    path("questionnaires/", views.questionnaire_list_page, name="questionnaire-list"),
    path("questionnaires/new/", views.questionnaire_create_page, name="questionnaire-create"),
    path("questionnaires/<int:pk>/", views.questionnaire_edit_page, name="questionnaire-edit"),
]

api_urlpatterns = [
    path("feedback/requests/", apis.MyFeedbackRequestListApi.as_view(), name="api-feedback-my"),
    path("feedback/requests/<int:pk>/", apis.FeedbackRequestApi.as_view(), name="api-feedback-request"),
    path("feedback/requests/<int:pk>/submit/", apis.FeedbackSubmitApi.as_view(), name="api-feedback-submit"),
    path("feedback/requests/<int:pk>/decide/", apis.FeedbackDecideApi.as_view(), name="api-feedback-decide"),
    path("feedback/token/<str:token>/", apis.FeedbackTokenApi.as_view(), name="api-feedback-token"),
    path("appraisals/<int:pk>/feedback/requests/", apis.AppraisalFeedbackRequestsApi.as_view(),
         name="api-appraisal-feedback-requests"),
    path("appraisals/<int:pk>/feedback/approve-all/", apis.AppraisalFeedbackApproveAllApi.as_view(),
         name="api-appraisal-feedback-approve-all"),
    path("appraisals/<int:pk>/feedback/customers/resend/", apis.AppraisalFeedbackLinkResendApi.as_view(),
         name="api-appraisal-feedback-link-resend"),
    path("appraisals/<int:pk>/feedback/results/", apis.AppraisalFeedbackResultsApi.as_view(),
         name="api-appraisal-feedback-results"),
    path("cycles/<int:pk>/feedback-completion/", apis.CycleFeedbackCompletionApi.as_view(),
         name="api-cycle-feedback-completion"),
    path("questionnaires/", apis.QuestionnaireListCreateApi.as_view(), name="api-questionnaire-list"),
    path("questionnaires/<int:pk>/", apis.QuestionnaireDetailApi.as_view(), name="api-questionnaire-detail"),
]
