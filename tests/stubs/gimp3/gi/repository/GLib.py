class Error(Exception):
    def __init__(self, message=None):
        super().__init__(message)
        self.message = message

    @classmethod
    def new_literal(cls, quark, message, code):
        return cls(message)


TIMEOUTS = {}  # source id -> callback: tests fire them with run_timeouts()


def timeout_add(milliseconds, callback, *args):
    source = len(TIMEOUTS) + 1
    while source in TIMEOUTS:
        source += 1
    TIMEOUTS[source] = (callback, args)
    return source


def source_remove(source):
    TIMEOUTS.pop(source, None)


def run_timeouts():
    while TIMEOUTS:
        source = next(iter(TIMEOUTS))
        callback, args = TIMEOUTS.pop(source)
        callback(*args)


class Bytes(bytes):
    @classmethod
    def new(cls, data):
        return cls(data)
