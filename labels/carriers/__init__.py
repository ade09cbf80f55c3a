"""One package per carrier (labels/carriers/<slug>/), each making one CarrierPackage (labels/registry.py)."""
