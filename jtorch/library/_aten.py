"""placeholder"""
def packet(name):
    return None
def names():
    return []
