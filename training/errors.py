"""The one error the training library raises for a user's mistake; each tool's ``main()`` prints it under its name."""


class TrainingError(Exception):
    """A problem with what the user asked for (a missing folder, an unreadable checkpoint): a message, no traceback."""
