"""``python -m carepath.entrypoints``: the same as the ``carepath`` command."""

from carepath.entrypoints.quick import main

main()
