"""Deliberately broken: I/O, threads, set iteration and helpers that hide them."""
import subprocess
import threading
from pathlib import Path

import requests

from duroxide import Registry

reg = Registry()


def load_config(path):
    with open(path) as fh:
        return fh.read()


def stamp():
    return helper_clock()


def helper_clock():
    import time
    return time.time()


def pure_helper(x):
    return x * 2


@reg.register_activity("Fetch")
def fetch(ctx, url):
    return requests.get(url).text


@reg.register_orchestration("Io")
def io_workflow(ctx, input):
    config = load_config("config.json")  # expect: DX009
    when = stamp()  # expect: DX009
    body = requests.get("https://example.com").text  # expect: DX006
    Path("out.txt").write_text(body)  # expect: DX006
    subprocess.run(["ls"])  # expect: DX006
    t = threading.Thread(target=print)  # expect: DX007
    direct = fetch(ctx, "https://example.com")  # expect: DX011
    tags = {"a", "b", "c"}
    for tag in tags:  # expect: DX008
        yield ctx.schedule_activity("Tag", tag)
    total = [x for x in set(input["items"])]  # expect: DX008
    return [config, when, pure_helper(2), direct, total, str(t)]


def not_an_orchestration():
    # Not registered: never reported.
    print(time_of_day())
    return open("x").read()


def time_of_day():
    import time
    return time.time()


def direct_registration(ctx, input):
    now = __import__("time")
    yield ctx.schedule_timer(10)
    return open("file.txt").read()  # expect: DX006


reg.register_orchestration("Direct", direct_registration)
