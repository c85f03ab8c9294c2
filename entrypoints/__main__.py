"""``python -m entrypoints``: the same as the ``carepath`` command."""

from entrypoints.common import main

main()
