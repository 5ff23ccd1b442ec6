"""The instructor's edition of the book: the whole book as one PDF (``make pdf``, instructor/pdf.py) and
one reveal.js deck per chapter (``make slides``, instructor/slides.py), both from the built book."""
