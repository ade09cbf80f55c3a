from tests.fakes.easypost.fixtures import easypost_fake  # noqa: F401
from tests.fakes.s3.fixtures import label_storage, s3_server  # noqa: F401
from tests.fakes.shipstation.fixtures import shipstation_fake  # noqa: F401
