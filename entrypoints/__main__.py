"""``python -m carepath.entrypoints``: the same as the ``carepath`` command."""

from carepath.entrypoints.common import main

main()
