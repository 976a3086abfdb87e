"""The shortlist handout: ``model`` (what it says), ``directions`` (words for a walk),
``drawing`` (route maps laid out for any box), ``pdf`` (the A4 PDF); the HTML page is the
template ``connector/handout.html``."""
