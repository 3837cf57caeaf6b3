"""What people write: notes, actions and events, kept apart from the warehouse."""
