"""``python -m lakeshop.cli``."""

from lakeshop.cli.app import main

main()
