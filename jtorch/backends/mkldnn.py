enabled = False


def is_available():
    return False
