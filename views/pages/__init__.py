"""The web app's pages: HTML rendered with jinja2 — grids, boards, the record page, forms, dashboards, the inbox, sign-in."""
