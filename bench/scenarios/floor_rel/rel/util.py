"""What dez calls of ``rel.util``."""


def log(*msg):
    pass  # rel prints only when verbose
