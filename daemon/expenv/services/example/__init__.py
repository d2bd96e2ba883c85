"""The churn example project that every demo and test uses (`expenv example create DIR`).

Importing this package is cheap: numpy, pyarrow, duckdb and nbformat are imported by
create_example when it runs.
"""

from .project import ExampleProject, create_example

__all__ = ["ExampleProject", "create_example"]
