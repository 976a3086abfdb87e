"""The shortlist handout: page and PDF, directions and route maps."""
