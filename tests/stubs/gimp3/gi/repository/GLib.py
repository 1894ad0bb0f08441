class Error(Exception):
    def __init__(self, message=None):
        super().__init__(message)
        self.message = message

    @classmethod
    def new_literal(cls, quark, message, code):
        return cls(message)
