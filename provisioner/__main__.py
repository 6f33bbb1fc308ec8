"""`python -m provisioner` runs the same CLI as the console script."""

from provisioner.console import main

main()
