"""One exception for input an instructor must fix: it carries every problem found."""


class InputError(Exception):
    """Bad settings, roster or command-line input; `problems` says what to fix."""

    def __init__(self, *problems: str):
        super().__init__("\n".join(problems))
        self.problems = list(problems)
