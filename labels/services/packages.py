"""Package presets: the boxes and mailers a merchant packs into. Owners keep the list; everyone in the
team chooses from it when rating a shipment (labels.services.parcels)."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Merchant, User
from accounts.services import require_owner
from core.errors import Conflict, ValidationFailed
from labels.models import PackagePreset

NAME_MAX = 80
DIMENSION_MAX_MM = 3000  # 3 m: larger than any parcel carrier takes, small enough to catch a unit slip
EMPTY_WEIGHT_MAX_GRAMS = 70000  # 70 kg, the heaviest parcel the carriers here take


def _whole(value: Any, *, low: int, high: int) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return f"A whole number from {low} to {high}."
    return None


def _clean(*, name: Any, length_mm: Any, width_mm: Any, height_mm: Any, empty_weight_grams: Any) -> dict[str, Any]:
    """Every bad field at once (details: {"fields": {field: message}})."""
    fields: dict[str, str] = {}
    name = " ".join(name.split()) if isinstance(name, str) else ""
    if not name or len(name) > NAME_MAX or "\x00" in name:
        fields["name"] = f"Required, at most {NAME_MAX} characters."
    for key, value in (("length_mm", length_mm), ("width_mm", width_mm), ("height_mm", height_mm)):
        problem = _whole(value, low=1, high=DIMENSION_MAX_MM)
        if problem:
            fields[key] = problem
    problem = _whole(empty_weight_grams, low=0, high=EMPTY_WEIGHT_MAX_GRAMS)
    if problem:
        fields["empty_weight_grams"] = problem
    if fields:
        raise ValidationFailed("The package is not valid.", details={"fields": fields})
    return {"name": name, "length_mm": length_mm, "width_mm": width_mm, "height_mm": height_mm,
            "empty_weight_grams": empty_weight_grams}


def _duplicate(name: str) -> Conflict:
    return Conflict(f"A package named {name!r} already exists.", code="duplicate_package_preset",
                    details={"fields": {"name": "Already used by another package."}})


def package_preset_create(*, merchant: Merchant, actor: User, name: str, length_mm: int, width_mm: int,
                          height_mm: int, empty_weight_grams: int = 0) -> PackagePreset:
    """A new package (owners only); its name is unique per merchant, whatever the case."""
    require_owner(merchant=merchant, actor=actor, action="change the packages")
    values = _clean(name=name, length_mm=length_mm, width_mm=width_mm, height_mm=height_mm,
                    empty_weight_grams=empty_weight_grams)
    try:
        with transaction.atomic():
            return PackagePreset.objects.create(merchant=merchant, **values)
    except IntegrityError:
        raise _duplicate(values["name"])


def package_preset_update(*, merchant: Merchant, actor: User, preset: PackagePreset,
                          **changes: Any) -> PackagePreset:
    """Change some of a package's fields (owners only): `changes` are any of the create's fields."""
    require_owner(merchant=merchant, actor=actor, action="change the packages")
    unknown = sorted(set(changes) - {"name", "length_mm", "width_mm", "height_mm", "empty_weight_grams"})
    if unknown:
        raise ValidationFailed("Unknown package fields.", details={"fields": {k: "Unknown field." for k in unknown}})
    current = {"name": preset.name, "length_mm": preset.length_mm, "width_mm": preset.width_mm,
               "height_mm": preset.height_mm, "empty_weight_grams": preset.empty_weight_grams}
    values = _clean(**{**current, **changes})
    try:
        with transaction.atomic():
            updated = PackagePreset.objects.filter(merchant=merchant, pk=preset.pk).update(**values, updated_at=timezone.now())
    except IntegrityError:
        raise _duplicate(values["name"])
    if not updated:  # deleted meanwhile
        raise Conflict("This package was deleted meanwhile.", code="package_preset_gone")
    return PackagePreset.objects.get(merchant=merchant, pk=preset.pk)


def package_preset_delete(*, merchant: Merchant, actor: User, preset: PackagePreset) -> None:
    """Delete a package (owners only). Quotes rated in it go with it; bought labels
    are not affected."""
    require_owner(merchant=merchant, actor=actor, action="change the packages")
    PackagePreset.objects.filter(merchant=merchant, pk=preset.pk).delete()
