from tests.fakes.easypost.fixtures import easypost_fake  # noqa: F401
from tests.fakes.shipstation.fixtures import shipstation_fake  # noqa: F401
