"""Not the Partners page: that is the package pages/partners/, which Python imports instead of this file.

On a fresh server, until some session has run the router, Streamlit is in its legacy "pages directory" mode and
opens /<name> by running the file pages/<name>.py (streamlit-engineering.md §0.1). A package is no such file, so a
cold-start deep link to /partners would get a "Page not found" dialog over the login form. This file sends it
through the router instead, as every other page module does when it is run that way (ui.auth).
"""

import ui.auth  # noqa: F401  (its first import ends the legacy mode and reruns through app.py)
