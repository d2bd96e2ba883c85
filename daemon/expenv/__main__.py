"""`python -m expenv`: the same entry point as the `expenv` console script."""

from expenv.cli.main import main

if __name__ == "__main__":
    main()
