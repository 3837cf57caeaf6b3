"""The read side: what pages, the board pack and the CLI ask of the warehouse."""
