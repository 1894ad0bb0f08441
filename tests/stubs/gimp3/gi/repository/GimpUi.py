CALLS = []


def init(name):
    CALLS.append(("init", name))


class ProcedureDialog:
    """Answers OK (or what RESPONSE says) without showing anything; ON_RUN(dialog) runs as if the user were
    looking at it (firing the preview's timers, say)."""

    RESPONSE = True
    ON_RUN = None
    LAST = None

    @classmethod
    def new(cls, procedure, config, title):
        CALLS.append(("dialog", title))
        ProcedureDialog.LAST = cls()
        return ProcedureDialog.LAST

    def __init__(self):
        from . import Gtk

        self.content = Gtk.Box()

    def get_content_area(self):
        return self.content

    def fill(self, names):
        CALLS.append(("fill", names))

    def run(self):
        if ProcedureDialog.ON_RUN is not None:
            ProcedureDialog.ON_RUN(self)
        return ProcedureDialog.RESPONSE

    def destroy(self):
        pass


class PreviewArea:
    """Remembers what was drawn into it."""

    def __init__(self):
        self.drawn, self.size = None, None

    @classmethod
    def new(cls):
        return cls()

    def set_size_request(self, width, height):
        self.size = (width, height)

    def draw(self, x, y, width, height, image_type, data, rowstride):
        self.drawn = (width, height, image_type, bytes(data), rowstride)
        self.drawn_at = (x, y)

    def fill(self, x, y, width, height, red, green, blue):
        self.filled = (width, height, (red, green, blue))

    def queue_draw(self):
        pass
