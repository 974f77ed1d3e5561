"""appraisal pages and API routes (reviews app): self-assessment, manager appraisal, interview, acknowledgement."""

from django.urls import path

from . import appraisal_apis as apis
from . import appraisal_views as views
from . import document_views

urlpatterns = [
    path("mine/", views.my_appraisals_page, name="my-appraisals"),
    path("appraisals/<int:pk>/", views.appraisal_detail_page, name="appraisal-detail"),
    path("appraisals/<int:pk>/self/", views.appraisal_self_page, name="appraisal-self"),
    path("appraisals/<int:pk>/manager/", views.appraisal_manager_page, name="appraisal-manager"),
    path("appraisals/<int:pk>/interview/", views.appraisal_interview_page, name="appraisal-interview"),
    path("appraisals/<int:pk>/next-objectives/", views.appraisal_next_objectives_page, name="appraisal-next-objectives"),
    path("appraisals/<int:pk>/acknowledge/", views.appraisal_acknowledge_page, name="appraisal-acknowledge"),
    path("appraisals/<int:pk>/pdf/", document_views.appraisal_pdf_page, name="appraisal-pdf"),
]

api_urlpatterns = [
    path("appraisals/my/", apis.MyAppraisalListApi.as_view(), name="api-appraisal-my"),
    path("appraisals/<int:pk>/", apis.AppraisalDetailApi.as_view(), name="api-appraisal-detail"),
    path("appraisals/<int:pk>/self/", apis.AppraisalSelfApi.as_view(), name="api-appraisal-self"),
    path("appraisals/<int:pk>/self/submit/", apis.AppraisalSelfSubmitApi.as_view(), name="api-appraisal-self-submit"),
    path("appraisals/<int:pk>/manager/", apis.AppraisalManagerApi.as_view(), name="api-appraisal-manager"),
    path("appraisals/<int:pk>/manager/submit/", apis.AppraisalManagerSubmitApi.as_view(),
         name="api-appraisal-manager-submit"),
    path("appraisals/<int:pk>/interview/", apis.AppraisalInterviewApi.as_view(), name="api-appraisal-interview"),
    path("appraisals/<int:pk>/next-objectives/", apis.AppraisalNextObjectivesApi.as_view(),
         name="api-appraisal-next-objectives"),
    path("appraisals/<int:pk>/acknowledge/", apis.AppraisalAcknowledgeApi.as_view(), name="api-appraisal-acknowledge"),
]
