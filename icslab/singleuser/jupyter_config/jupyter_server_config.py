# Participants' servers (both modes read this folder through JUPYTER_CONFIG_PATH).
# Behind the lab's TLS front, the server's own _xsrf cookie is Secure too; its path
# stays the server's prefix, as jupyter-server sets it by default.
import os

if os.environ.get("ICSLAB_SECURE_COOKIES"):
    c.ServerApp.tornado_settings = {  # noqa: F821 (`c` comes from Jupyter's config loader)
        "xsrf_cookie_kwargs": {
            "secure": True,
            "path": os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/"),
        }
    }
