"""Work done on a timetable: the single scheduler process and the daily job."""
