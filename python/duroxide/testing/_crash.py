"""placeholder"""


class CrashPoint:
    pass


class CrashTestFailure(Exception):
    pass


class CrashTestReport:
    pass


def crash_test(*a: object, **k: object) -> None:
    raise NotImplementedError
