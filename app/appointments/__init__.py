"""The appointment book (issue 14): types, schedules, appointments, weekly courses, worklists."""
