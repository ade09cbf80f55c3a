"""EasyPost: one API key per account (test or production keys), rates from every carrier the EasyPost
account has, labels bought per shipment, refunds as voids, tracker webhooks signed with our secret."""

from labels.carriers.easypost.adapter import EasyPostAdapter
from labels.carriers.easypost.webhooks import RECEIVER
from labels.registry import CarrierPackage

CARRIER = CarrierPackage(slug="easypost", label="EasyPost", adapter=EasyPostAdapter, receiver=RECEIVER)
