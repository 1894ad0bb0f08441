class ParamFlags:
    READWRITE = 3
