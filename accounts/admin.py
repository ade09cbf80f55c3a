from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.http import HttpResponseRedirect

from accounts import services
from accounts.models import ApiToken, Invitation, Membership, Merchant, User
from core.errors import ApplicationError


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined", "last_login"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)

    def save_model(self, request, obj, form, change) -> None:
        """Unticking "active" goes through the service, so the person's API tokens die with it."""
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data and not obj.is_active:
            services.user_deactivate(user=obj)

    def user_change_password(self, request, id, form_url=""):
        """Staff setting someone's password ends the API tokens issued under the old one, as a reset does."""
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user = self.get_object(request, unquote(id))
            if user is not None:
                services.api_tokens_revoke_for_user(user=user, reason="password set by staff")
        return response


class MembershipInline(admin.TabularInline):
    """Removing someone is the membership's own page (accounts.services.membership_remove: their tokens
    for this merchant die, the last owner stays), never a ticked box in the merchant's form."""

    model = Membership
    extra = 0
    raw_id_fields = ["user"]
    can_delete = False


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
    list_display = ["id", "name", "currency", "timezone", "is_active", "created_at"]
    list_filter = ["is_active", "currency"]
    search_fields = ["name", "id"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["id", "user", "merchant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "merchant__name"]
    raw_id_fields = ["user", "merchant"]

    def get_actions(self, request):
        """No bulk delete: each removal goes through the service, one membership at a time."""
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def delete_model(self, request, obj: Membership) -> None:
        services.membership_remove(merchant=obj.merchant, actor=request.user, membership=obj, by_staff=True)

    def delete_view(self, request, object_id, extra_context=None):
        """The service's refusal (the last owner) is a message on the membership's page, not a 500."""
        try:
            return super().delete_view(request, object_id, extra_context)
        except ApplicationError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return HttpResponseRedirect(request.path.removesuffix("delete/") + "change/")


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Only the prefix is shown; the hash is never displayed and tokens cannot be created here."""

    list_display = ["id", "name", "masked", "user", "merchant", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "prefix", "user__email", "merchant__name"]
    exclude = ["key_hash"]
    readonly_fields = ["merchant", "user", "prefix", "created_at", "last_used_at"]

    @admin.display(description="token")
    def masked(self, obj: ApiToken) -> str:
        return f"sb_{obj.prefix}_••••••••"

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Read-only: invitations are sent and revoked by owners on the Team page (the key is never shown)."""

    list_display = ["id", "email", "role", "merchant", "invited_by", "created_at", "expires_at", "accepted_at",
                    "revoked_at"]
    list_filter = ["role", ("accepted_at", admin.EmptyFieldListFilter), ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["email", "merchant__name"]
    exclude = ["key_hash"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
