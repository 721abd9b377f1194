"""``python -m tests.core.toy_main [serve flags]``: the real server process with only the toy
vendor, for crash tests of the core that must not depend on any vendor's routes."""
import asyncio
import sys

from emulator.cli import build_parser, config_from_args
from emulator.server import serve_forever
from tests.core.toy import Toy

if __name__ == "__main__":
    args = build_parser().parse_args(["serve", "--no-default-fixtures", *sys.argv[1:]])
    asyncio.run(serve_forever(config_from_args(args), vendor_classes=[Toy]))
