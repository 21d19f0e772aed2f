"""Exception and warning classes of keras-motifs."""


class KerasMotifsError(ValueError):
    """A problem with the user's input: a file, an argument or a model.

    The command-line tool prints the message of this error on one line and exits
    with status 2, without a traceback, so messages must name the thing at fault
    (file, argument, layer) and say what is wrong with it.
    """


class KerasMotifsWarning(UserWarning):
    """A warning from keras-motifs that users can filter with ``warnings``."""


def check_integer(
    value: object,
    name: str,
    minimum: int | None = 1,
    error: type[Exception] = KerasMotifsError,
    *,
    types: tuple[type, ...] = (int,),
    requirement: str | None = None,
) -> int:
    """Return ``value`` if it is an integer (a bool is not) of at least ``minimum``; raise ``error`` if not.

    Parameters
    ----------
    value : object
        The value to check.
    name : str
        What the message calls it: ``"workers"``, ``"config.json: epochs"``.
    minimum : int or None
        The smallest value allowed. Default is 1; None allows every integer.
    error : type of Exception
        Raised when ``value`` fails. Default is :class:`KerasMotifsError`.
    types : tuple of type
        What counts as an integer. Default is ``(int,)``; ``(int, numpy.integer)`` takes NumPy's too.
    requirement : str, optional
        What ``value`` must be, as the message says it. Default is "a positive integer" for a
        minimum of 1, "an integer >= N" for another minimum N and "an integer" for none.

    Returns
    -------
    int
        ``value``, unchanged.

    Raises
    ------
    error
        ``"{name} must be {requirement}, got {value!r}"``.
    """
    if isinstance(value, bool) or not isinstance(value, types) or (minimum is not None and value < minimum):
        if requirement is None and minimum is None:
            requirement = "an integer"
        elif requirement is None:
            requirement = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise error(f"{name} must be {requirement}, got {value!r}")
    return value
