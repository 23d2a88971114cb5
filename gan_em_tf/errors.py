"""The one exception type for bad user input.

Library code raises :class:`UserError` with a one-line message that says what
is wrong and which flag fixes it; the CLI prints it and exits with status 2.
"""


class UserError(Exception):
    """Bad input that the user can fix; the message is shown as one line."""
