"""Contract pages (under /goals/) and API routes (under /api/v1/goals/)."""

from django.urls import path

from . import contract_apis, contract_views, document_views

urlpatterns = [
    path("contracts/", contract_views.contract_list_page, name="contract-list"),
    path("contracts/new/", contract_views.contract_create_page, name="contract-create"),
    path("contracts/<int:pk>/", contract_views.contract_detail_page, name="contract-detail"),
    path("contracts/<int:pk>/edit/", contract_views.contract_edit_page, name="contract-edit"),
    path("contracts/<int:pk>/sign/", contract_views.contract_sign_page, name="contract-sign"),
    path("contracts/<int:pk>/amend/", contract_views.contract_amend_page, name="contract-amend"),
    path("contracts/<int:pk>/pdf/", document_views.contract_pdf_page, name="contract-pdf"),
]

api_urlpatterns = [
    path("contracts/", contract_apis.ContractListApi.as_view(), name="api-contract-list"),
    path("contracts/<int:pk>/", contract_apis.ContractDetailApi.as_view(), name="api-contract-detail"),
    path("contracts/<int:pk>/sign/", contract_apis.ContractSignApi.as_view(), name="api-contract-sign"),
    path("contracts/<int:pk>/amend/", contract_apis.ContractAmendApi.as_view(), name="api-contract-amend"),
    path("contracts/<int:pk>/versions/", contract_apis.ContractVersionsApi.as_view(), name="api-contract-versions"),
]
