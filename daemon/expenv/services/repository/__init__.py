"""The repository side of a project: the copier template (`expenv new`, `expenv example create`),
notebooks in git (stripped outputs, jupytext pairs) and the branch's stage."""

from expenv.services.repository.notebooks import check_notebooks
from expenv.services.repository.template import create_project, questions, render_project, template_dir

__all__ = ["check_notebooks", "create_project", "questions", "render_project", "template_dir"]
