"""Fake GTK 3: containers that remember their children, labels that remember their text."""


class Orientation:
    HORIZONTAL, VERTICAL = 0, 1


class Widget:
    def __init__(self, **properties):
        self.children, self.properties, self.size = [], properties, None

    def add(self, child):
        self.children.append(child)

    def pack_start(self, child, expand, fill, padding):
        self.children.append(child)

    def set_border_width(self, width):
        pass

    def set_size_request(self, width, height):
        self.size = (width, height)

    def show_all(self):
        pass

    def queue_draw(self):
        pass


class Box(Widget):
    pass


class Frame(Widget):
    pass


class Label(Widget):
    def __init__(self, label=""):
        super().__init__()
        self.text = label

    def set_text(self, text):
        self.text = text


class Button(Widget):
    """A button whose "clicked" handlers a test fires with ``click()``."""

    def __init__(self, label=""):
        super().__init__()
        self.label, self.handlers = label, {}

    @classmethod
    def new_with_mnemonic(cls, label):
        return cls(label)

    def set_tooltip_text(self, text):
        self.tooltip = text

    def connect(self, signal, handler):
        self.handlers.setdefault(signal, []).append(handler)

    def click(self):
        for handler in self.handlers.get("clicked", []):
            handler(self)


class CheckButton(Button):
    """A check button: ``toggle()`` flips it and fires its "toggled" handlers."""

    def __init__(self, label=""):
        super().__init__(label)
        self.active = False

    def get_active(self):
        return self.active

    def toggle(self):
        self.active = not self.active
        for handler in self.handlers.get("toggled", []):
            handler(self)
