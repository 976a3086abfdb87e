"""Closing the loop: telling a group someone may come, the organiser's answer, how it went,
and searches that found nothing. Everything here is about listings and wards, never clients."""
