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
