"""A mail backend that refuses the first N sends, as a flaky SMTP server would, then delivers to locmem."""

from django.core.mail.backends.locmem import EmailBackend


class FailOnceBackend(EmailBackend):
    failures_left = 0

    def send_messages(self, messages):
        if FailOnceBackend.failures_left > 0:
            FailOnceBackend.failures_left -= 1
            raise ConnectionRefusedError("mail server refused the connection")
        return super().send_messages(messages)
