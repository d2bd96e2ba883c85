"""Notebook kernels in the production Python (jupyter_client): start, list, interrupt, restart, stop."""

from expenv.services.kernels.client import ExecutionResult
from expenv.services.kernels.pool import KernelError, KernelRecord, NotebookKernels
from expenv.services.kernels.spec import KERNEL_NAME, default_python, install_kernelspec, kernelspec

__all__ = ["KERNEL_NAME", "ExecutionResult", "KernelError", "KernelRecord", "NotebookKernels", "default_python",
           "install_kernelspec", "kernelspec"]
