"""Errors the runtime raises: each carries a message meant for the person using the tool."""


class ColorizeError(Exception):
    """Base class: anything that stops a colorization, with a message a user can act on."""


class ModelError(ColorizeError):
    """The model file is missing, unreadable, or does not follow the model contract."""


class InputError(ColorizeError):
    """The image (or hint image, or selection) cannot be colorized as given."""


class OutputExists(InputError):
    """The output file is already there and --overwrite was not given: a batch counts it as done before."""


class OutputError(ColorizeError):
    """A result could not be written (a full disk, a read-only folder); nothing was left half-written."""
