"""What people look at, in two packages: the pages (`views.pages`, HTML from jinja2) and the REST API
(`views.api`, Airtable-compatible), which share the message catalog (`views.i18n`, `views.messages`)."""
