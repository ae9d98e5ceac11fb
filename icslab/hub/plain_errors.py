"""What the lab's services answer when they refuse: the reason as plain text, the
line a person reads to know what to fix (the status is in the HTTP status line)."""

from __future__ import annotations

from tornado import web


class PlainTextErrors(web.RequestHandler):
    def write_error(self, status_code: int, **kwargs) -> None:
        reason = self._reason
        error = kwargs.get("exc_info", (None, None))[1]
        if isinstance(error, web.HTTPError) and error.log_message:
            reason = error.log_message % error.args if error.args else error.log_message
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.finish(f"{reason}\n")
