"""Getting rooms in and out: files and homeservers. No Qt."""
