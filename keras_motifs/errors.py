"""Exception and warning classes of keras-motifs."""


class KerasMotifsError(ValueError):
    """A problem with the user's input: a file, an argument or a model.

    The command-line tool prints the message of this error on one line and exits
    with status 2, without a traceback, so messages must name the thing at fault
    (file, argument, layer) and say what is wrong with it.
    """


class KerasMotifsWarning(UserWarning):
    """A warning from keras-motifs that users can filter with ``warnings``."""
