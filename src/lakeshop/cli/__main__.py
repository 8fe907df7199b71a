"""``python -m lakeshop.cli``."""

from lakeshop.cli.main import main

main()
