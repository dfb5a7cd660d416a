"""api_usage.py: Python reads allocguard's usage through ctypes, with no package.

The guard's library exports the functions of allocguard.h; ctypes.CDLL(None) finds them in
the running process when it runs under `allocguard run` (or LD_PRELOAD), and not otherwise.

    allocguard run -- python3 examples/api_usage.py
"""
import ctypes


class Usage(ctypes.Structure):
    _fields_ = [(name, ctypes.c_uint64)
                for name in ("tracked", "heap", "mapped", "swapped", "peak", "cap")]
    _fields_ += [("level", ctypes.c_int)]


LEVELS = ("ok", "warn", "critical", "cap")


def usage():
    """The guard's usage as a dict, or None when the program runs without it."""
    try:
        get = ctypes.CDLL(None).allocguard_get_usage
    except AttributeError:
        return None
    get.argtypes = [ctypes.POINTER(Usage)]
    get.restype = ctypes.c_int
    u = Usage()
    if get(ctypes.byref(u)) != 0:
        return None
    d = {name: getattr(u, name) for name, _ in Usage._fields_}
    d["level"] = LEVELS[u.level] if 0 <= u.level < len(LEVELS) else str(u.level)
    return d


def main():
    before = usage()
    if before is None:
        print("allocguard: not active")
        return
    data = bytearray(8 * 1024 * 1024)   # 8 MiB the guard must see
    after = usage()
    print("tracked before %d" % before["tracked"])
    print("tracked after %d" % after["tracked"])
    print("grew %d" % (after["tracked"] - before["tracked"]))
    print("peak %d cap %d level %s" % (after["peak"], after["cap"], after["level"]))
    del data


if __name__ == "__main__":
    main()
