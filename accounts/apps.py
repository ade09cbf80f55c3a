from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts and merchants"

    def ready(self) -> None:
        from django_scopes.manager import DisabledQuerySet

        # django-scopes 2.1 lets these through outside a scope (they are not in its list of
        # guarded methods); a query outside any scope must raise, so guard them too.
        for name in ("exists", "contains", "in_bulk", "explain", "bulk_update", "alias", "extra", "defer",
                     "only", "distinct", "exclude", "select_related", "prefetch_related"):
            setattr(DisabledQuerySet, name, DisabledQuerySet.error)
