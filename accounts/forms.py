from django import forms


class SignupExtraForm(forms.Form):
    """Extra sign-up fields; allauth merges them into its sign-up form."""

    first_name = forms.CharField(max_length=150, required=False, label="Your name")
    business_name = forms.CharField(max_length=200, required=False, label="Business name")

    def signup(self, request, user) -> None:
        user.first_name = self.cleaned_data.get("first_name", "")
        user.save(update_fields=["first_name"])


class ApiTokenForm(forms.Form):
    name = forms.CharField(max_length=100, label="Token name", help_text="What will use it, e.g. 'ERP sync'.")

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "id_token_%s")  # shares the Settings page with other forms' "name"
        super().__init__(*args, **kwargs)
