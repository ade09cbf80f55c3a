from django.urls import path

from accounts import views

urlpatterns = [
    path("settings/", views.SettingsView.as_view(), name="settings"),
    path("settings/merchant/switch/", views.MerchantSwitchView.as_view(), name="merchant-switch"),
    path("settings/api-tokens/", views.ApiTokenCreateView.as_view(), name="api-token-create"),
    path("settings/api-tokens/<id:pk>/revoke/", views.ApiTokenRevokeView.as_view(), name="api-token-revoke"),
    path("settings/team/", views.TeamView.as_view(), name="team"),
    path("settings/audit/", views.AuditView.as_view(), name="audit"),
    path("settings/team/invitations/", views.InvitationCreateView.as_view(), name="invitation-create"),
    path("settings/team/invitations/<id:pk>/resend/", views.InvitationResendView.as_view(), name="invitation-resend"),
    path("settings/team/invitations/<id:pk>/revoke/", views.InvitationRevokeView.as_view(), name="invitation-revoke"),
    path("settings/team/members/<id:pk>/role/", views.MembershipRoleView.as_view(), name="membership-role"),
    path("settings/team/members/<id:pk>/remove/", views.MembershipRemoveView.as_view(), name="membership-remove"),
    path("invitations/<str:key>/", views.InvitationAcceptView.as_view(), name="invitation-accept"),
]
