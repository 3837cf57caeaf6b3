"""The monthly board pack (issue 5): PDF for the Board, Excel for analysts.

- `boardpack.build_boardpack(period, level=, unit=, out=)`: the CLI's entry point
  (`cpip boardpack`); `boardpack.check_request` validates a request.
- `routes.register(server)`: /boardpack.pdf and /boardpack.xlsx on the Flask server.
- `model` (what a pack holds), `pdf` (template + WeasyPrint), `excel` (openpyxl),
  `svg` (the charts, drawn as SVG without a browser), `look` (theme and formats).
"""
