"""Setting AssetMap up for a place: boundaries, postcodes, and what is set up."""
