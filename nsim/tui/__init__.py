"""The terminal UI: replay a journal record by record beside the host model, and guided lessons.

`Session` indexes the inputs in a background thread into a `RecordStore` and a `Timeline`
of host models; `NsimApp` (nsim.tui.app) renders them. Textual is only imported by the app.
"""
