"""Reading the user's code (Python files and notebook cells) for references to our datasets."""
