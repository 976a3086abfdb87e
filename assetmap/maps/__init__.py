"""Maps: the basemap built from the local OpenStreetMap extract, its tiles, and map queries."""
