from django.apps import AppConfig


class LabelsConfig(AppConfig):
    name = "labels"

    def ready(self) -> None:
        # Function-level imports: ready() runs once every app is loaded; at module level the packages
        # would import models before the app registry is ready.
        from labels.carriers import easypost, shipstation
        from labels.registry import carrier_package_register

        carrier_package_register(easypost.CARRIER)
        carrier_package_register(shipstation.CARRIER)
