"""``python -m lakeshop.cli``."""

from lakeshop.cli.commands import main

main()
