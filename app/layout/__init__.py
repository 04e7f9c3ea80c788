"""Pure geometry: event graph -> positions. No Qt."""
