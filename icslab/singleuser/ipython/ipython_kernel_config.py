# Participants' python3 kernels (the image links this folder as the venv's
# etc/ipython, where IPython looks for its configuration).
c.InteractiveShellApp.extensions = ["icslab.singleuser.trim"]  # noqa: F821 (Jupyter's loader)
