from tests.fakes.easypost.fixtures import easypost_fake  # noqa: F401
